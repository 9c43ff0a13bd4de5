"""The scenario model: what a case vignette is, as authors write it (format v1).

These pydantic models are the single source of the authoring contract: the
loader validates against them, and `python -m engine schema` exports them as
the JSON Schema that editors use for autocompletion.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = 1
SLUG = r"^[a-z0-9][a-z0-9-]*$"

Difficulty = Literal["beginner", "intermediate", "advanced"]
RuptureType = Literal["withdrawal", "confrontation"]
EndingKind = Literal["repaired", "partial", "unrepaired"]
Slug = Annotated[str, Field(pattern=SLUG, max_length=64)]
Prose = Annotated[str, Field(min_length=1, max_length=20_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Bound(_Strict):
    """Inclusive bounds on a variable; either or both may be given."""

    min: int | None = None
    max: int | None = None

    def holds(self, value: int) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


Condition = dict[str, Bound]


def condition_holds(condition: Condition | None, variables: dict[str, int]) -> bool:
    if not condition:
        return True
    return all(bound.holds(variables.get(name, 0)) for name, bound in condition.items())


class Route(_Strict):
    to: str
    when: Condition | None = None


Next = str | list[Route]


class Choice(_Strict):
    id: Slug
    text: Prose
    scores: dict[str, int]
    feedback: Prose
    strategies: list[str] = Field(default_factory=list)
    when: Condition | None = None
    effects: dict[str, int] = Field(default_factory=dict)
    next: Next


class Node(_Strict):
    text: Prose
    cue: Prose | None = None
    choices: list[Choice] | None = None
    next: Next | None = None
    ending: EndingKind | None = None
    debrief: Prose | None = None

    @property
    def kind(self) -> Literal["decision", "narration", "ending"]:
        if self.choices is not None:
            return "decision"
        if self.ending is not None:
            return "ending"
        return "narration"


class Scenario(_Strict):
    id: Slug
    title: Annotated[str, Field(min_length=1, max_length=200)]
    client: Annotated[str, Field(min_length=1, max_length=100)]
    difficulty: Difficulty
    mistake: Prose
    rupture: RuptureType
    summary: Prose
    objectives: list[Prose] = Field(default_factory=list)
    tags: list[Slug] = Field(default_factory=list)
    variables: dict[str, int] = Field(default_factory=dict)
    start: str
    nodes: dict[str, Node] = Field(min_length=1)

    @property
    def decision_count(self) -> int:
        return sum(1 for node in self.nodes.values() if node.choices is not None)


def routes_of(next_: Next | None) -> list[Route]:
    if next_ is None:
        return []
    if isinstance(next_, str):
        return [Route(to=next_)]
    return list(next_)
