"""Fixtures for the authoring workspace: the service on either backend, drafts, app runs.

``authoring``   an :class:`AuthoringService` on ``store`` and the tiny ``library_dir``
                (the bundled rubric plus the format example), with the workspace
                turned on for everyone (``REPAIRLAB_AUTHORING``), as before accounts.
``example_text`` the format example's YAML (id ``example-late-start``, in the folder).
``draft_text``  the starter template: a valid scenario whose id is not in the library.
``authoring_app`` a fresh AppTest browser session on a test router that registers the
                authoring page beside the practice pages, on a temporary database
                and a copy of the bundled library.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from repairlab.config import Settings
from repairlab.db import Store
from repairlab.services.authoring import AuthoringService
from repairlab.services.catalog import Catalog
from repairlab.services.practice import PracticeService

ROOT = Path(__file__).resolve().parents[2]
ROUTER = Path(__file__).resolve().parent / "router.py"


def settings_for(store: Store, library: Path, authoring_enabled: bool = True) -> Settings:
    return Settings(
        database_url=store.url,
        scenarios_path=library,
        authoring_enabled=authoring_enabled,
        guest_practice=True,
    )


@pytest.fixture
def authoring(store: Store, catalog: Catalog, practice: PracticeService, library_dir: Path) -> AuthoringService:
    return AuthoringService(store, catalog, practice, settings_for(store, library_dir))


@pytest.fixture
def authoring_closed(authoring: AuthoringService) -> AuthoringService:
    """The same service on a deployment that leaves the workspace to supervisors and admins."""
    return AuthoringService(
        authoring.store, authoring.catalog, authoring.practice, replace(authoring.settings, authoring_enabled=False)
    )


@pytest.fixture
def example_text() -> str:
    return (ROOT / "docs" / "format-example.yaml").read_text(encoding="utf-8")


@pytest.fixture
def draft_text() -> str:
    return (ROOT / "docs" / "starter-template.yaml").read_text(encoding="utf-8")


@pytest.fixture
def app_library(tmp_path: Path) -> Path:
    library = tmp_path / "app-library"
    shutil.copytree(ROOT / "scenarios", library)
    return library


@pytest.fixture
def app_env(tmp_path: Path, app_library: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("REPAIRLAB_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("REPAIRLAB_SCENARIOS", str(app_library))
    monkeypatch.setenv("REPAIRLAB_AUTHORING", "1")
    from ui.context import get_services

    get_services.clear()
    yield app_library
    get_services.clear()


@pytest.fixture
def authoring_app(app_env: Path) -> Callable[..., AppTest]:
    def make(**query_params: str) -> AppTest:
        app = AppTest.from_file(str(ROUTER), default_timeout=30)
        app.query_params.update(query_params)
        return app

    return make
