"""Wiring: one object holding the deployment's store and services.

The Streamlit layer builds this once per process (cached) and passes it to
views; tests build it directly on a temporary database.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings
from ..db import Store
from .catalog import Catalog
from .practice import PracticeService


@dataclass
class Services:
    settings: Settings
    store: Store
    catalog: Catalog
    practice: PracticeService


def build_services(settings: Settings | None = None) -> Services:
    settings = settings or Settings.from_env()
    store = Store(settings.database_url)
    store.upgrade()
    catalog = Catalog(store, settings.scenarios_path)
    return Services(settings, store, catalog, PracticeService(store, catalog))
