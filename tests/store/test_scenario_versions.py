"""Attempts keep the exact scenario version they started on; broken files never stop play."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from storetools import count, play_to_end

from engine import Playthrough
from repairlab.db import Store
from repairlab.db.tables import ScenarioVersion
from repairlab.services.catalog import Catalog
from repairlab.services.practice import PracticeService, UserRef

SCENARIO = "example-late-start"
OWN_IT_SCORES = "scores: {accountability: 4, self_focus: 0, exploration: 4}"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    stat = path.stat()  # make sure the change is seen even within one timestamp tick
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_editing_a_scenario_leaves_started_attempts_on_their_stored_version(
    store: Store,
    practice: PracticeService,
    catalog: Catalog,
    library_dir: Path,
    trainee: UserRef,
    reopen: Callable[[Store], Store],
) -> None:
    old = practice.start(trainee.id, SCENARIO, "coached")
    old = practice.choose(old.id, 0, "own-it", trainee.id)
    old_step_score = old.play.outcomes[0].score

    # The author lowers the scores of "own-it" and renames its feedback.
    edit(
        library_dir / f"{SCENARIO}.yaml",
        OWN_IT_SCORES,
        "scores: {accountability: 1, self_focus: 3, exploration: 0}",
    )
    assert catalog.entry(SCENARIO).content_hash != old.content_hash

    resumed = practice.load(old.id, trainee.id)
    assert resumed.content_hash == old.content_hash
    assert resumed.play.outcomes[0].score == old_step_score
    finished = play_to_end(practice, resumed, trainee.id)
    assert finished.play.report().score == old_step_score
    assert finished.play.report().ending == "repaired"

    new = practice.start(trainee.id, SCENARIO, "coached")
    assert new.content_hash == catalog.entry(SCENARIO).content_hash != old.content_hash
    new = play_to_end(practice, new, trainee.id, pick=lambda _state: "own-it")
    assert new.play.report().score < old_step_score
    assert count(store, ScenarioVersion) == 2

    # After a restart (no caches) the old attempt still replays on its own version.
    restarted = reopen(store)
    fresh = PracticeService(restarted, Catalog(restarted, library_dir))
    again = fresh.load(old.id, trainee.id)
    assert again.play.report() == finished.play.report()
    summaries = {s.id: s for s in fresh.history(trainee.id)}
    assert summaries[old.id].score == old_step_score
    assert summaries[new.id].score == new.play.report().score


def test_a_deleted_scenario_file_does_not_stop_its_attempts_from_replaying(
    practice: PracticeService, catalog: Catalog, library_dir: Path, trainee: UserRef
) -> None:
    state = practice.start(trainee.id, SCENARIO, "coached")
    state = practice.choose(state.id, 0, "explain", trainee.id)
    (library_dir / f"{SCENARIO}.yaml").unlink()
    assert catalog.entries() == []
    resumed = practice.load(state.id, trainee.id)
    assert play_to_end(practice, resumed, trainee.id).play.report().ending == "unrepaired"


def test_a_broken_file_is_listed_while_the_good_scenario_still_plays(
    practice: PracticeService, catalog: Catalog, library_dir: Path, trainee: UserRef
) -> None:
    (library_dir / "broken.yaml").write_text("id: broken\ntitle: [unclosed\n", encoding="utf-8")
    good = (library_dir / f"{SCENARIO}.yaml").read_text(encoding="utf-8")
    (library_dir / "bad-score.yaml").write_text(
        good.replace("id: example-late-start", "id: bad-score").replace(
            OWN_IT_SCORES, "scores: {accountability: 9}"
        ),
        encoding="utf-8",
    )

    broken = {f.path.name: f for f in catalog.broken_files()}
    assert set(broken) == {"broken.yaml", "bad-score.yaml"}
    for scenario_file in broken.values():
        assert scenario_file.diagnostics, scenario_file.path
        first = scenario_file.diagnostics[0]
        assert first.line >= 1 and first.column >= 1 and first.message
    assert [e.scenario.id for e in catalog.entries()] == [SCENARIO]

    state = practice.start(trainee.id, SCENARIO, "assessment")
    finished = play_to_end(practice, state, trainee.id, pick=lambda _state: "own-it")
    entry = catalog.entry(SCENARIO)
    assert (
        finished.play.report() == Playthrough.resume(entry.scenario, entry.rubric, ["own-it", None]).report()
    )
