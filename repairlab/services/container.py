"""Wiring: one object holding the deployment's store and services.

The Streamlit layer builds this once per process (cached) and passes it to
views; tests build it directly on a temporary database.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings
from ..db import Store
from .accounts import AccountService
from .analytics import AnalyticsService
from .audit import AuditService
from .catalog import Catalog
from .cohorts import CohortService
from .exports import ExportService
from .practice import PracticeService
from .privacy import PrivacyService
from .records import RecordsService
from .signin import SignInPolicy, SignInService
from .xapi import XapiService

# A scenario edited on disk or published by another replica is served within this many seconds.
CATALOG_RECHECK_SECONDS = 2.0


@dataclass
class Services:
    settings: Settings
    store: Store
    catalog: Catalog
    practice: PracticeService
    accounts: AccountService
    signin: SignInService
    cohorts: CohortService
    records: RecordsService
    privacy: PrivacyService
    audit: AuditService
    analytics: AnalyticsService
    exports: ExportService
    xapi: XapiService


def build_services(settings: Settings | None = None) -> Services:
    settings = settings or Settings.from_env()
    store = Store(settings.database_url)
    store.upgrade()
    catalog = Catalog(store, settings.scenarios_path, recheck_seconds=CATALOG_RECHECK_SECONDS)
    practice = PracticeService(store, catalog)
    accounts = AccountService(store)
    return Services(
        settings=settings,
        store=store,
        catalog=catalog,
        practice=practice,
        accounts=accounts,
        signin=SignInService(store, policy=SignInPolicy.from_env()),
        cohorts=CohortService(store, accounts),
        records=RecordsService(store, practice),
        privacy=PrivacyService(store),
        audit=AuditService(store),
        analytics=AnalyticsService(store),
        exports=ExportService(store),
        xapi=XapiService(store),
    )
