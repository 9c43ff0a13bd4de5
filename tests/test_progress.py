"""The progress indicator's "at least N decisions": fewest decisions from here to any ending."""

from __future__ import annotations

from pathlib import Path

from engine import Playthrough, load_library
from engine.graph import edges
from repairlab.services.progress import decisions_ahead, progress

ROOT = Path(__file__).resolve().parents[1]


def fewest_by_fixpoint(scenario) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A slow, obviously right reference: relax every edge until nothing changes."""
    targets: dict[str, set[str]] = {}
    for edge in edges(scenario):
        targets.setdefault(edge.source, set()).add(edge.target)
    infinity = 1 << 30
    ahead = {n: (0 if node.ending is not None else infinity) for n, node in scenario.nodes.items()}
    changed = True
    while changed:
        changed = False
        for node_id, node in scenario.nodes.items():
            if node.ending is not None:
                continue
            own = int(node.choices is not None)
            candidate = min((own + ahead[t] for t in targets.get(node_id, ())), default=infinity)
            if candidate < ahead[node_id]:
                ahead[node_id], changed = candidate, True
    return {n: (0 if cost >= infinity else cost) for n, cost in ahead.items()}


def test_every_node_of_every_bundled_scenario_reports_the_fewest_decisions_to_an_ending() -> None:
    library = load_library(ROOT / "scenarios")
    for scenario in library.scenarios.values():
        expected = fewest_by_fixpoint(scenario)
        for node_id in scenario.nodes:
            play = Playthrough.resume(scenario, library.rubric, [])
            play.node_id = node_id  # type: ignore[misc]  # jump there: the table is per node
            assert decisions_ahead(play) == expected[node_id], (scenario.id, node_id)


def test_progress_counts_made_decisions_and_the_fewest_still_ahead_along_a_play() -> None:
    library = load_library(ROOT / "scenarios")
    scenario = library.scenarios["sarah-missed-session"]
    play = Playthrough.resume(scenario, library.rubric, [])
    made_before = 0
    while not play.finished:
        made, total = progress(play)
        assert made == len(play.outcomes) and total >= made
        assert total - made == fewest_by_fixpoint(scenario)[play.node_id]
        if play.kind == "narration":
            play.proceed()
        else:
            play.choose(play.offered_choices()[0].id)
            made_before += 1
    assert progress(play) == (made_before, made_before)
