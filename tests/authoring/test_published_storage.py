"""Storage of published scenarios: migration 0003 and the catalog's behaviour around the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError

from repairlab.db import Store
from repairlab.db.migrate import downgrade, upgrade
from repairlab.services.authoring import AuthoringService
from repairlab.services.catalog import Catalog

DRAFT = "my-new-scenario"


def tables(store: Store) -> set[str]:
    with store.write_engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_migration_0003_adds_and_removes_only_the_published_scenarios_table(database_url: str) -> None:
    store = Store(database_url)
    try:
        upgrade(store, "0002")
        before = tables(store)
        assert "published_scenarios" not in before

        upgrade(store, "0003")
        assert tables(store) == before | {"published_scenarios"}
        with store.write_engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("published_scenarios")}
        assert columns == {
            "id", "scenario_id", "version_no", "content_hash", "title", "source", "replaced_hash",
            "published_by", "published_at", "note",
        }

        downgrade(store, "0002")
        assert tables(store) == before
    finally:
        store.dispose()


def test_a_catalog_on_a_database_without_the_table_still_serves_the_folder(
    database_url: str, library_dir: Path
) -> None:
    store = Store(database_url)
    try:
        upgrade(store, "0002")
        catalog = Catalog(store, library_dir)
        assert [e.scenario.id for e in catalog.entries()] == ["example-late-start"]
        assert catalog.broken_files() == []
    finally:
        store.dispose()


def test_published_scenarios_stay_served_while_the_database_cannot_be_read(
    authoring: AuthoringService, draft_text: str, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    authoring.publish(draft_text, None)
    assert DRAFT in {e.scenario.id for e in catalog.entries()}

    def unreachable():  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(catalog.store, "read", unreachable)
    assert DRAFT in {e.scenario.id for e in catalog.entries()}
    # Even when the folder changes meanwhile (its rubric is re-read, published versions kept).
    (catalog.root / "example-late-start.yaml").touch()
    (catalog.root / "extra.yaml").write_text((catalog.root / "example-late-start.yaml").read_text()
                                              .replace("id: example-late-start", "id: extra"))
    assert {e.scenario.id for e in catalog.entries()} == {"example-late-start", "extra", DRAFT}
