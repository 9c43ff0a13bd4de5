"""Playing a scenario: the play-through state machine and its report.

A tiny runtime in the spirit of ink and Yarn Spinner: start a play-through,
ask what is offered, choose, continue past narration, read the report. The
whole state is the scenario version plus the list of actions taken, so a
play-through serialises to small JSON and resumes by replaying it.

This module depends only on the model and the rubric; loaders depend on it,
never the reverse.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

from .model import Choice, Node, Scenario, condition_holds, routes_of
from .rubric import Rubric

CONTINUE = None  # the action recorded when a narration node is continued


class PlayError(Exception):
    """An action that is not possible at this point of the play-through."""


@dataclass(frozen=True)
class ChoiceOutcome:
    """What one decision contributed: the scored choice and the best on offer."""

    step: int
    node: str
    choice: str
    scores: dict[str, int]
    score: float
    best_score: float
    best_choice: str
    zone: str
    strategies: list[str]
    feedback: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = round(self.score, 2)
        data["best_score"] = round(self.best_score, 2)
        return data


@dataclass(frozen=True)
class Report:
    scenario: str
    path: list[str]
    choices: list[ChoiceOutcome]
    variables: dict[str, int]
    ending: str | None
    score: float | None
    means: dict[str, float]
    zone: str | None
    best_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report as documented for `python -m engine play --json`."""
        return {
            "scenario": self.scenario,
            "path": list(self.path),
            "choices": [
                {
                    "node": c.node,
                    "choice": c.choice,
                    "scores": dict(c.scores),
                    "score": round(c.score, 2),
                    "best_score": round(c.best_score, 2),
                    "zone": c.zone,
                    "strategies": list(c.strategies),
                }
                for c in self.choices
            ],
            "variables": dict(self.variables),
            "ending": self.ending,
            "score": None if self.score is None else round(self.score, 2),
            "means": {name: round(value, 3) for name, value in self.means.items()},
            "zone": self.zone,
        }


@dataclass
class Playthrough:
    """One trainee's way through one scenario version."""

    scenario: Scenario
    rubric: Rubric
    node_id: str = ""
    variables: dict[str, int] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    actions: list[str | None] = field(default_factory=list)
    outcomes: list[ChoiceOutcome] = field(default_factory=list)

    @classmethod
    def start(cls, scenario: Scenario, rubric: Rubric) -> Playthrough:
        play = cls(scenario, rubric)
        play.node_id = scenario.start
        play.variables = dict(scenario.variables)
        play.path = [scenario.start]
        return play

    # -- where we are ------------------------------------------------------

    @property
    def node(self) -> Node:
        return self.scenario.nodes[self.node_id]

    @property
    def kind(self) -> str:
        return self.node.kind

    @property
    def finished(self) -> bool:
        return self.node.ending is not None

    @property
    def ending(self) -> str | None:
        return self.node.ending

    @property
    def step(self) -> int:
        """Number of actions taken so far (the index of the next action)."""
        return len(self.actions)

    def offered_choices(self, shuffle_seed: str | None = None) -> list[Choice]:
        """The choices available now; with a seed, in a stable shuffled order."""
        if self.node.choices is None:
            return []
        offered = [c for c in self.node.choices if condition_holds(c.when, self.variables)]
        if shuffle_seed is not None:
            random.Random(f"{shuffle_seed}:{self.node_id}:{self.step}").shuffle(offered)
        return offered

    # -- acting ------------------------------------------------------------

    def choose(self, choice_id: str) -> ChoiceOutcome:
        if self.kind != "decision":
            raise PlayError(f"node '{self.node_id}' is not a decision point; nothing to choose")
        offered = self.offered_choices()
        chosen = next((c for c in offered if c.id == choice_id), None)
        if chosen is None:
            ids = ", ".join(c.id for c in offered)
            raise PlayError(
                f"choice '{choice_id}' is not offered at node '{self.node_id}'; offered: {ids}"
            )
        scored = {c.id: self.rubric.score(c.scores) for c in offered}
        best_id = max(offered, key=lambda c: scored[c.id]).id
        outcome = ChoiceOutcome(
            step=self.step,
            node=self.node_id,
            choice=chosen.id,
            scores=dict(chosen.scores),
            score=scored[chosen.id],
            best_score=scored[best_id],
            best_choice=best_id,
            zone=self.rubric.zone_of(chosen.scores),
            strategies=list(chosen.strategies),
            feedback=chosen.feedback,
        )
        for name, delta in chosen.effects.items():
            self.variables[name] = self.variables.get(name, 0) + delta
        self.actions.append(chosen.id)
        self.outcomes.append(outcome)
        self._go(self._route(chosen.next))
        return outcome

    def proceed(self) -> None:
        """Continue past a narration node."""
        if self.kind != "narration":
            raise PlayError(f"node '{self.node_id}' is not a narration node; it cannot be continued")
        self.actions.append(CONTINUE)
        self._go(self._route(self.node.next))

    def proceed_through_narration(self) -> None:
        while self.kind == "narration":
            self.proceed()

    def act(self, action: str | None) -> None:
        if action is CONTINUE:
            self.proceed()
        else:
            self.choose(action)

    def _route(self, next_: Any) -> str:
        for route in routes_of(next_):
            if condition_holds(route.when, self.variables):
                return route.to
        raise PlayError(f"no route applies from node '{self.node_id}'")  # prevented by validation

    def _go(self, node_id: str) -> None:
        self.node_id = node_id
        self.path.append(node_id)

    # -- results -----------------------------------------------------------

    def report(self) -> Report:
        points = [o.scores for o in self.outcomes]
        means = self.rubric.means(points)
        score = sum(o.score for o in self.outcomes) / len(self.outcomes) if self.outcomes else None
        best = (
            sum(o.best_score for o in self.outcomes) / len(self.outcomes) if self.outcomes else None
        )
        return Report(
            scenario=self.scenario.id,
            path=list(self.path),
            choices=list(self.outcomes),
            variables=dict(self.variables),
            ending=self.ending,
            score=score,
            means=means,
            zone=self.rubric.zone_of(means) if means else None,
            best_score=best,
        )

    # -- persistence -------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario.id, "actions": list(self.actions)}

    @classmethod
    def resume(cls, scenario: Scenario, rubric: Rubric, actions: list[str | None]) -> Playthrough:
        """Rebuild a play-through by replaying its recorded actions."""
        play = cls.start(scenario, rubric)
        for action in actions:
            play.act(action)
        return play

    @classmethod
    def from_json(cls, scenario: Scenario, rubric: Rubric, data: dict[str, Any]) -> Playthrough:
        if data.get("scenario") != scenario.id:
            raise PlayError(f"saved play-through is for '{data.get('scenario')}', not '{scenario.id}'")
        return cls.resume(scenario, rubric, list(data.get("actions", [])))


def best_path(scenario: Scenario, rubric: Rubric, worst: bool = False) -> Playthrough:
    """Play greedily, always taking the highest (or lowest) scoring offered choice."""
    play = Playthrough.start(scenario, rubric)
    for _ in range(10_000):
        if play.finished:
            return play
        if play.kind == "narration":
            play.proceed()
            continue
        offered = play.offered_choices()
        if not offered:
            raise PlayError(f"no choice is offered at node '{play.node_id}'")
        pick = (min if worst else max)(offered, key=lambda c: rubric.score(c.scores))
        play.choose(pick.id)
    raise PlayError("play-through did not finish within 10,000 steps (a loop?)")
