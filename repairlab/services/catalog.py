"""The scenario catalog: the library on disk, its broken files, and stored versions.

Loading and validating the library is cheap but not free, so the catalog
reloads only when a file in the folder changes. Every scenario a trainee plays
is first stored as an immutable `ScenarioVersion` (keyed by content hash), so
later edits to a file never change or mix old results.

Scenarios published from the authoring workspace live in the database
(`published_scenarios`), so every app replica serves them. The catalog serves
the folder's scenarios plus the newest published version of each published id;
a published id that is also in the folder overrides the file, which only
happens when an author explicitly published "a new version of" it (see
`services/authoring.py`). Each call checks the published table's signature
(one small aggregate query) and re-validates published YAML only when it
changed. A published version that no longer validates (say the rubric changed
since) is listed among `broken_files()` and not served.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError, ProgrammingError

from engine import (
    Library,
    Rubric,
    Scenario,
    content_hash,
    from_snapshot,
    load_library,
    load_scenario_text,
    snapshot_json,
)
from engine.library import ScenarioFile

from ..db import Store
from ..db.tables import ScenarioVersion
from ..db.tables_authoring import PublishedScenario
from .errors import NotFound


@dataclass(frozen=True)
class CatalogEntry:
    scenario: Scenario
    rubric: Rubric
    content_hash: str
    path: Path | None
    published_version: int | None = None  # set when served from the authoring workspace's table


def published_display_path(scenario_id: str, version_no: int) -> str:
    """How a published version is named in diagnostics and on the authors' page."""
    return f"published:{scenario_id}:v{version_no}"


class Catalog:
    """`recheck_seconds`: how long the folder and the published table are trusted unchanged.

    A page asks the catalog several times per rerun (entries, broken files, rubric); with a
    short window those calls share one check of the disk and the database instead of each
    globbing the folder and querying. 0 checks on every call (tests that edit files use it).
    """

    def __init__(self, store: Store, root: Path, recheck_seconds: float = 0.0) -> None:
        self.store = store
        self.root = Path(root)
        self.recheck_seconds = recheck_seconds
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self._library: Library | None = None
        self._entries: dict[str, CatalogEntry] = {}
        self._folder_entries: dict[str, CatalogEntry] = {}
        self._published_key: tuple | None = None
        self._published_entries: dict[str, CatalogEntry] = {}
        self._published_broken: list[ScenarioFile] = []
        self._versions: dict[str, tuple[Scenario, Rubric]] = {}
        self._stored: set[str] = set()

    # -- the library on disk --------------------------------------------------

    def _folder_signature(self) -> tuple:
        try:
            stats = [(p.name, p.stat()) for p in sorted(self.root.glob("*.y*ml"))]
            return tuple((name, stat.st_mtime_ns, stat.st_size) for name, stat in stats)
        except OSError:
            return ()

    def _published_signature(self) -> tuple | None:
        """Changes whenever a version is published (rows are only ever added); None if unknown."""
        try:
            with self.store.read() as session:
                count, newest = session.execute(
                    select(func.count(PublishedScenario.id), func.max(PublishedScenario.id))
                ).one()
        except (OperationalError, ProgrammingError):  # not upgraded to 0003 yet, or unreachable
            return None
        return (count, newest)

    def _load_published(self, rubric: Rubric | None) -> bool:
        """Validate the newest published version of each id against the folder's rubric.

        Returns False, keeping what was loaded before, when the database cannot be read.
        """
        entries: dict[str, CatalogEntry] = {}
        broken: list[ScenarioFile] = []
        newest = (
            select(PublishedScenario.scenario_id, func.max(PublishedScenario.version_no).label("version_no"))
            .group_by(PublishedScenario.scenario_id)
            .subquery()
        )
        try:
            with self.store.read() as session:
                rows = session.execute(
                    select(PublishedScenario.scenario_id, PublishedScenario.version_no, PublishedScenario.source)
                    .join(
                        newest,
                        and_(
                            PublishedScenario.scenario_id == newest.c.scenario_id,
                            PublishedScenario.version_no == newest.c.version_no,
                        ),
                    )
                    .order_by(PublishedScenario.scenario_id)
                ).all()
        except (OperationalError, ProgrammingError):  # not upgraded to 0003 yet, or unreachable
            return False
        for scenario_id, version_no, source in rows:
            loaded = load_scenario_text(source, rubric, published_display_path(scenario_id, version_no))
            if loaded.ok and loaded.scenario is not None and loaded.scenario.id == scenario_id and rubric is not None:
                entries[scenario_id] = CatalogEntry(
                    loaded.scenario, rubric, content_hash(loaded.scenario, rubric), None, version_no
                )
            else:
                broken.append(loaded)
        self._published_entries, self._published_broken = entries, broken
        return True

    def expire(self) -> None:
        """Check the folder and the published table again on the next call."""
        self._checked_at = float("-inf")

    def library(self) -> Library:
        """The library folder as loaded (published scenarios are not part of it)."""
        if self._library is not None and time.monotonic() - self._checked_at < self.recheck_seconds:
            return self._library
        signature = self._folder_signature()
        published = self._published_signature()
        with self._lock:
            folder_changed = self._library is None or signature != self._signature
            if folder_changed:
                library = load_library(self.root)
                entries: dict[str, CatalogEntry] = {}
                if library.rubric is not None:
                    paths = {f.scenario.id: f.path for f in library.files if f.ok and f.scenario}
                    for scenario_id, scenario in library.scenarios.items():
                        entries[scenario_id] = CatalogEntry(
                            scenario, library.rubric, content_hash(scenario, library.rubric), paths.get(scenario_id)
                        )
                self._library, self._folder_entries, self._signature = library, entries, signature
            assert self._library is not None
            if folder_changed or (published is not None and published != self._published_key):
                # The rubric comes from the folder, so a folder change re-validates published versions
                # too. If the database cannot be read, what was published before is still served.
                if self._load_published(self._library.rubric):
                    self._published_key = published
                self._entries = {**self._folder_entries, **self._published_entries}
            self._checked_at = time.monotonic()
            return self._library

    def entries(self) -> list[CatalogEntry]:
        self.library()
        return sorted(self._entries.values(), key=lambda e: (e.scenario.difficulty != "beginner", e.scenario.title))

    def entry(self, scenario_id: str) -> CatalogEntry:
        self.library()
        try:
            return self._entries[scenario_id]
        except KeyError:
            raise NotFound(f"There is no playable scenario called '{scenario_id}'.") from None

    def broken_files(self) -> list[ScenarioFile]:
        """Folder files that do not validate, then published versions that no longer do."""
        library = self.library()
        return library.broken_files + list(self._published_broken)

    @property
    def rubric(self) -> Rubric | None:
        return self.library().rubric

    # -- stored versions ----------------------------------------------------------

    def ensure_stored(self, entry: CatalogEntry) -> str:
        """Store this scenario version once; returns its content hash."""
        if entry.content_hash in self._stored:
            return entry.content_hash
        values = {
            "content_hash": entry.content_hash,
            "scenario_id": entry.scenario.id,
            "title": entry.scenario.title,
            "snapshot": snapshot_json(entry.scenario, entry.rubric),
        }
        with self.store.write() as session:
            # INSERT ... ON CONFLICT DO NOTHING: the first attempts of a new version,
            # started at once by many trainees, must not fail on each other's row.
            dialect = session.get_bind().dialect.name
            insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}.get(dialect)
            if insert is not None:
                session.execute(
                    insert(ScenarioVersion).values(**values).on_conflict_do_nothing(index_elements=["content_hash"])
                )
            elif session.get(ScenarioVersion, entry.content_hash) is None:  # pragma: no cover - other backends
                session.add(ScenarioVersion(**values))
        self._stored.add(entry.content_hash)
        self._versions[entry.content_hash] = (entry.scenario, entry.rubric)
        return entry.content_hash

    def version(self, version_hash: str) -> tuple[Scenario, Rubric]:
        """The scenario and rubric of a stored version, as it was played."""
        cached = self._versions.get(version_hash)
        if cached is not None:
            return cached
        with self.store.read() as session:
            row = session.get(ScenarioVersion, version_hash)
            if row is None:
                raise NotFound("The scenario version of this attempt is missing from the database.")
            loaded = from_snapshot(json.loads(row.snapshot))
        self._versions[version_hash] = loaded
        return loaded
