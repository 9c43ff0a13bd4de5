"""The scenario catalog: the library on disk, its broken files, and stored versions.

Loading and validating the library is cheap but not free, so the catalog
reloads only when a file in the folder changes. Every scenario a trainee plays
is first stored as an immutable `ScenarioVersion` (keyed by content hash), so
later edits to a file never change or mix old results.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from engine import Library, Rubric, Scenario, content_hash, from_snapshot, load_library, snapshot_json
from engine.library import ScenarioFile

from ..db import Store
from ..db.tables import ScenarioVersion
from .errors import NotFound


@dataclass(frozen=True)
class CatalogEntry:
    scenario: Scenario
    rubric: Rubric
    content_hash: str
    path: Path | None


class Catalog:
    def __init__(self, store: Store, root: Path) -> None:
        self.store = store
        self.root = Path(root)
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self._library: Library | None = None
        self._entries: dict[str, CatalogEntry] = {}
        self._versions: dict[str, tuple[Scenario, Rubric]] = {}
        self._stored: set[str] = set()

    # -- the library on disk --------------------------------------------------

    def _folder_signature(self) -> tuple:
        try:
            return tuple(
                (p.name, p.stat().st_mtime_ns, p.stat().st_size)
                for p in sorted(self.root.glob("*.y*ml"))
            )
        except OSError:
            return ()

    def library(self) -> Library:
        signature = self._folder_signature()
        with self._lock:
            if self._library is None or signature != self._signature:
                library = load_library(self.root)
                entries: dict[str, CatalogEntry] = {}
                if library.rubric is not None:
                    paths = {f.scenario.id: f.path for f in library.files if f.ok and f.scenario}
                    for scenario_id, scenario in library.scenarios.items():
                        entries[scenario_id] = CatalogEntry(
                            scenario, library.rubric, content_hash(scenario, library.rubric), paths.get(scenario_id)
                        )
                self._library, self._entries, self._signature = library, entries, signature
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
        return self.library().broken_files

    @property
    def rubric(self) -> Rubric | None:
        return self.library().rubric

    # -- stored versions ----------------------------------------------------------

    def ensure_stored(self, entry: CatalogEntry) -> str:
        """Store this scenario version once; returns its content hash."""
        if entry.content_hash in self._stored:
            return entry.content_hash
        with self.store.write() as session:
            if session.get(ScenarioVersion, entry.content_hash) is None:
                session.add(
                    ScenarioVersion(
                        content_hash=entry.content_hash,
                        scenario_id=entry.scenario.id,
                        title=entry.scenario.title,
                        snapshot=snapshot_json(entry.scenario, entry.rubric),
                    )
                )
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
