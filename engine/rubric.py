"""The scoring rubric: dimensions, the balance chart's axes and zones, strategies.

The rubric is data (a library's `rubric.yaml`); this module holds its model and
the scoring rules that apply it. Nothing here knows about scenarios or files.

Scoring, as documented for trainees:

* a choice's score is ``100 * (1 - d / sqrt(k))`` where ``k`` is the number of
  dimensions and ``d`` the Euclidean distance between the choice's scores and
  the ideal point, each dimension first divided by its range;
* a choice's zone is the zone of its (x, y) scores, a value being *high* when
  it is at least the dimension's midpoint;
* an attempt's score is the mean of its choice scores, its means are the
  per-dimension means, and its zone is the zone of those means.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SLUG = r"^[a-z0-9][a-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Dimension(_Strict):
    label: str = Field(min_length=1, max_length=80)
    min: int
    max: int
    ideal: int
    levels: dict[int, str] = Field(default_factory=dict)

    @property
    def range(self) -> int:
        return self.max - self.min

    @property
    def midpoint(self) -> float:
        return (self.min + self.max) / 2

    def is_high(self, value: float) -> bool:
        return value >= self.midpoint


class Axes(_Strict):
    x: str
    y: str


class Zone(_Strict):
    label: str = Field(min_length=1, max_length=80)
    x: Literal["high", "low"]
    y: Literal["high", "low"]


class Rubric(_Strict):
    dimensions: dict[str, Dimension] = Field(min_length=1)
    axes: Axes
    zones: dict[str, Zone]
    strategies: dict[str, str] = Field(default_factory=dict)

    @property
    def dimension_ids(self) -> list[str]:
        return list(self.dimensions)

    @property
    def ideal(self) -> dict[str, int]:
        return {name: dim.ideal for name, dim in self.dimensions.items()}

    def score(self, scores: Mapping[str, float]) -> float:
        """Score 0-100 of a point in rubric space; 100 is ideal on every dimension."""
        squared = 0.0
        for name, dim in self.dimensions.items():
            squared += ((scores[name] - dim.ideal) / dim.range) ** 2
        return 100.0 * (1.0 - math.sqrt(squared) / math.sqrt(len(self.dimensions)))

    def zone_of(self, scores: Mapping[str, float]) -> str:
        """Id of the zone containing the point's (x, y) scores."""
        x_dim = self.dimensions[self.axes.x]
        y_dim = self.dimensions[self.axes.y]
        x_level = "high" if x_dim.is_high(scores[self.axes.x]) else "low"
        y_level = "high" if y_dim.is_high(scores[self.axes.y]) else "low"
        for zone_id, zone in self.zones.items():
            if zone.x == x_level and zone.y == y_level:
                return zone_id
        raise LookupError(f"no zone for x={x_level}, y={y_level}")  # prevented by validation

    def zone_label(self, zone_id: str) -> str:
        return self.zones[zone_id].label

    def means(self, points: Sequence[Mapping[str, float]]) -> dict[str, float]:
        if not points:
            return {}
        return {
            name: sum(point[name] for point in points) / len(points) for name in self.dimensions
        }

    def level_description(self, dimension: str, value: int) -> str | None:
        return self.dimensions[dimension].levels.get(value)
