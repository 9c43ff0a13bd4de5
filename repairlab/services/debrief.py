"""What a finished attempt's debrief shows, computed once for any view.

Pairs every decision the trainee made with the best response that was on
offer at that point, counts strategies, and plays the best path of the same
scenario version for comparison.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from engine import ChoiceOutcome, Playthrough, Report, best_path

from .practice import AttemptState


@dataclass(frozen=True)
class DecisionRow:
    step: int
    node: str
    situation: str
    chosen_text: str
    chosen_feedback: str
    score: float
    zone: str
    best_text: str
    best_feedback: str
    best_score: float


@dataclass(frozen=True)
class Debrief:
    report: Report
    ending_text: str
    ending_debrief: str | None
    rows: list[DecisionRow]
    strategies: list[tuple[str, int]]  # (label, count), most used first
    best: Playthrough
    outcomes: list[ChoiceOutcome]


_BEST_PATHS: dict[str, Playthrough] = {}


def best_path_of(state: AttemptState) -> Playthrough:
    """The best path of the attempt's scenario version, played once per version and process."""
    best = _BEST_PATHS.get(state.content_hash)
    if best is None:
        best = _BEST_PATHS[state.content_hash] = best_path(state.scenario, state.rubric)
    return best


def build_debrief(state: AttemptState) -> Debrief:
    scenario, rubric, play = state.scenario, state.rubric, state.play
    report = play.report()
    rows = []
    for number, outcome in enumerate(report.choices, start=1):
        node = scenario.nodes[outcome.node]
        by_id = {choice.id: choice for choice in node.choices or []}
        chosen, best = by_id[outcome.choice], by_id[outcome.best_choice]
        rows.append(
            DecisionRow(
                step=number,
                node=outcome.node,
                situation=node.text,
                chosen_text=chosen.text,
                chosen_feedback=chosen.feedback,
                score=outcome.score,
                zone=rubric.zone_label(outcome.zone),
                best_text=best.text,
                best_feedback=best.feedback,
                best_score=outcome.best_score,
            )
        )
    counts = Counter(strategy for outcome in report.choices for strategy in outcome.strategies)
    strategies = [(rubric.strategies.get(sid, sid), n) for sid, n in counts.most_common()]
    ending_node = play.node
    return Debrief(
        report=report,
        ending_text=ending_node.text,
        ending_debrief=ending_node.debrief,
        rows=rows,
        strategies=strategies,
        best=best_path_of(state),
        outcomes=list(report.choices),
    )
