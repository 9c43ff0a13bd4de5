"""Coverage of a scenario library, for authors: `python -m engine stats [PATH]`.

Pure functions over a loaded `Library`: what the library covers (difficulty,
rupture type, mistake), which zones each decision offers, which repair
strategies are used, and how many distinct ways there are through each
scenario, with warnings where coverage is thin.

Path counts come in two flavours:

* *structural* paths follow every edge of the graph, ignoring `when`
  conditions (every choice is offered, every route is possible);
* *playable* paths are what trainees can actually do: choices and routes are
  resolved against the variables, exactly as the runtime does.

Both are counted by dynamic programming over states (a node, or a node plus
the variables), so even scenarios with millions of paths count instantly. A
path that would revisit a state it is already in (a loop) is not counted; the
scenario is then flagged as having a loop. The playable count explores at
most `MAX_STATES` states and says so when it stops early.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .library import Library
from .model import Choice, Node, Scenario, condition_holds, routes_of
from .rubric import Rubric

MAX_STATES = 50_000
DIFFICULTIES = ("beginner", "intermediate", "advanced")
RUPTURES = ("withdrawal", "confrontation")
MIN_PER_DIFFICULTY = 3  # the product brief asks for at least three per level


@dataclass(frozen=True)
class PathStats:
    """Distinct complete paths from start to an ending, and their lengths."""

    paths: int  # number of complete paths (0 if none could be completed)
    min_decisions: int | None
    max_decisions: int | None
    endings: dict[str, int]  # ending kind -> number of paths ending there
    looped: bool = False  # some path would loop; looping paths are not counted
    truncated: bool = False  # the state cap was hit; the figures are a lower bound


@dataclass(frozen=True)
class DecisionStats:
    node: str
    choices: int
    zones: dict[str, int]  # zone id -> number of choices in it (every zone listed)
    missing_zones: list[str]
    best_is_first: bool = False  # the highest-scoring choice is the first written
    best_is_longest: bool = False  # ... or the one with the longest text


@dataclass
class ScenarioStats:
    id: str
    title: str
    difficulty: str
    rupture: str
    mistake: str
    nodes: int
    decisions: list[DecisionStats]
    strategies: Counter[str]
    structural: PathStats
    playable: PathStats
    warnings: list[str] = field(default_factory=list)


@dataclass
class LibraryStats:
    root: str
    scenarios: list[ScenarioStats]
    broken_files: list[str]
    by_difficulty: dict[str, list[str]]
    by_rupture: dict[str, list[str]]
    strategies: Counter[str]
    unused_strategies: list[str]
    zone_labels: dict[str, str]
    strategy_labels: dict[str, str]
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------


@dataclass
class _Tally:
    paths: int
    min_decisions: int | None
    max_decisions: int | None
    endings: Counter[str]


def _dead() -> _Tally:
    return _Tally(0, None, None, Counter())


def _combine(into: _Tally, branch: _Tally, decision: int) -> None:
    if branch.paths == 0:
        return
    into.paths += branch.paths
    low = branch.min_decisions + decision  # type: ignore[operator]
    high = branch.max_decisions + decision  # type: ignore[operator]
    into.min_decisions = low if into.min_decisions is None else min(into.min_decisions, low)
    into.max_decisions = high if into.max_decisions is None else max(into.max_decisions, high)
    into.endings.update(branch.endings)


class _Counter:
    """Counts paths by memoised depth-first search over states."""

    def __init__(self, scenario: Scenario, conditional: bool) -> None:
        self.scenario = scenario
        self.conditional = conditional
        self.memo: dict[object, _Tally] = {}
        self.active: set[object] = set()
        self.looped = False
        self.truncated = False

    def count(self) -> PathStats:
        start_vars = tuple(sorted(self.scenario.variables.items()))
        tally = self._state(self.scenario.start, start_vars)
        return PathStats(
            paths=tally.paths,
            min_decisions=tally.min_decisions,
            max_decisions=tally.max_decisions,
            endings=dict(sorted(tally.endings.items())),
            looped=self.looped,
            truncated=self.truncated,
        )

    def _key(self, node_id: str, variables: tuple[tuple[str, int], ...]) -> object:
        return (node_id, variables) if self.conditional else node_id

    def _state(self, node_id: str, variables: tuple[tuple[str, int], ...]) -> _Tally:
        # Iterative DFS: scenarios can be deep, and Python's recursion is not.
        root = self._key(node_id, variables)
        if root in self.memo:
            return self.memo[root]
        stack: list[tuple[object, str, tuple[tuple[str, int], ...], list | None]] = [
            (root, node_id, variables, None)
        ]
        while stack:
            key, node_id, variables, pending = stack[-1]
            if pending is None:
                if key in self.memo:
                    stack.pop()
                    continue
                if len(self.memo) + len(self.active) >= MAX_STATES:
                    self.truncated = True
                    self.memo[key] = _dead()
                    stack.pop()
                    continue
                self.active.add(key)
                successors = self._successors(self.scenario.nodes[node_id], variables)
                stack[-1] = (key, node_id, variables, successors)
                for _, target, target_vars in successors:
                    child = self._key(target, target_vars)
                    if child in self.active:
                        self.looped = True
                    elif child not in self.memo:
                        stack.append((child, target, target_vars, None))
                continue
            stack.pop()
            node = self.scenario.nodes[node_id]
            tally = _dead()
            if node.ending is not None:
                tally = _Tally(1, 0, 0, Counter({node.ending: 1}))
            for decision, target, target_vars in pending:
                child = self._key(target, target_vars)
                branch = self.memo.get(child)
                if branch is not None:  # None: a loop back into an active state
                    _combine(tally, branch, decision)
            self.active.discard(key)
            self.memo[key] = tally
        return self.memo[root]

    def _successors(
        self, node: Node, variables: tuple[tuple[str, int], ...]
    ) -> list[tuple[int, str, tuple[tuple[str, int], ...]]]:
        if node.ending is not None:
            return []
        if node.choices is None:
            return [(0, target, variables) for target in self._targets(node.next, variables)]
        found = []
        values = dict(variables)
        for choice in node.choices:
            if self.conditional and not condition_holds(choice.when, values):
                continue
            after = self._apply(choice, variables)
            for target in self._targets(choice.next, after):
                found.append((1, target, after))
        return found

    def _apply(self, choice: Choice, variables: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
        if not self.conditional or not choice.effects:
            return variables
        values = dict(variables)
        for name, delta in choice.effects.items():
            values[name] = values.get(name, 0) + delta
        return tuple(sorted(values.items()))

    def _targets(self, next_: object, variables: tuple[tuple[str, int], ...]) -> list[str]:
        routes = routes_of(next_)  # type: ignore[arg-type]
        if not self.conditional:
            return list(dict.fromkeys(route.to for route in routes))
        values = dict(variables)
        for route in routes:
            if condition_holds(route.when, values):
                return [route.to]
        return []


def path_stats(scenario: Scenario, conditional: bool) -> PathStats:
    """Distinct complete paths through a scenario (see the module docstring)."""
    return _Counter(scenario, conditional).count()


# --------------------------------------------------------------------------
# Scenarios and the library
# --------------------------------------------------------------------------


def scenario_stats(scenario: Scenario, rubric: Rubric) -> ScenarioStats:
    decisions = []
    strategies: Counter[str] = Counter()
    warnings = []
    for node_id, node in scenario.nodes.items():
        if node.choices is None:
            continue
        zones = dict.fromkeys(rubric.zones, 0)
        for choice in node.choices:
            zones[rubric.zone_of(choice.scores)] += 1
            strategies.update(choice.strategies)
        missing = [zone for zone, count in zones.items() if count == 0]
        best = max(node.choices, key=lambda c: rubric.score(c.scores))
        longest = max(node.choices, key=lambda c: len(c.text))
        decisions.append(
            DecisionStats(node_id, len(node.choices), zones, missing, node.choices[0] is best, longest is best)
        )
        if missing:
            labels = ", ".join(rubric.zone_label(zone) for zone in missing)
            warnings.append(f"{scenario.id}: decision '{node_id}' offers no choice in: {labels}")
    if len(decisions) >= 2:
        if all(d.best_is_first for d in decisions):
            warnings.append(f"{scenario.id}: the best-scoring response is written first at every decision")
        if all(d.best_is_longest for d in decisions):
            warnings.append(f"{scenario.id}: the best-scoring response is the longest at every decision")
    structural = path_stats(scenario, conditional=False)
    playable = path_stats(scenario, conditional=True)
    if playable.paths and "repaired" not in playable.endings:
        warnings.append(f"{scenario.id}: no playable path reaches a repaired ending")
    if playable.looped:
        warnings.append(f"{scenario.id}: some paths loop back to a moment already played")
    if playable.truncated:
        warnings.append(f"{scenario.id}: more than {MAX_STATES:,} states; path counts are a lower bound")
    return ScenarioStats(
        id=scenario.id,
        title=scenario.title,
        difficulty=scenario.difficulty,
        rupture=scenario.rupture,
        mistake=scenario.mistake,
        nodes=len(scenario.nodes),
        decisions=decisions,
        strategies=strategies,
        structural=structural,
        playable=playable,
        warnings=warnings,
    )


def library_stats(library: Library) -> LibraryStats:
    rubric = library.rubric
    broken = sorted(str(f.path) for f in library.broken_files)
    if rubric is None:
        return LibraryStats(
            root=str(library.root),
            scenarios=[],
            broken_files=broken,
            by_difficulty={level: [] for level in DIFFICULTIES},
            by_rupture={kind: [] for kind in RUPTURES},
            strategies=Counter(),
            unused_strategies=[],
            zone_labels={},
            strategy_labels={},
            warnings=["the library's rubric.yaml is missing or invalid; nothing to count"],
        )
    scenarios = [scenario_stats(s, rubric) for _, s in sorted(library.scenarios.items())]
    by_difficulty: dict[str, list[str]] = {level: [] for level in DIFFICULTIES}
    by_rupture: dict[str, list[str]] = {kind: [] for kind in RUPTURES}
    strategies: Counter[str] = Counter()
    for stats in scenarios:
        by_difficulty.setdefault(stats.difficulty, []).append(stats.id)
        by_rupture.setdefault(stats.rupture, []).append(stats.id)
        strategies.update(stats.strategies)
    unused = [strategy for strategy in rubric.strategies if strategies[strategy] == 0]
    warnings: list[str] = []
    for level, ids in by_difficulty.items():
        if len(ids) < MIN_PER_DIFFICULTY:
            warnings.append(f"only {len(ids)} {level} scenario(s); aim for at least {MIN_PER_DIFFICULTY}")
    for kind, ids in by_rupture.items():
        if not ids:
            warnings.append(f"no {kind} scenario")
    for strategy in unused:
        warnings.append(f"strategy '{strategy}' ({rubric.strategies[strategy]}) is never used")
    for stats in scenarios:
        warnings.extend(stats.warnings)
    for path in broken:
        warnings.append(f"{path} has errors and is not counted (run `python -m engine validate`)")
    return LibraryStats(
        root=str(library.root),
        scenarios=scenarios,
        broken_files=broken,
        by_difficulty=by_difficulty,
        by_rupture=by_rupture,
        strategies=strategies,
        unused_strategies=unused,
        zone_labels={zone: rubric.zone_label(zone) for zone in rubric.zones},
        strategy_labels=dict(rubric.strategies),
        warnings=warnings,
    )


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    """Plain-text table; `align` has one 'l' or 'r' per column."""
    align = align or "l" * len(headers)
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        parts = [
            str(cell).rjust(width) if side == "r" else str(cell).ljust(width)
            for cell, width, side in zip(cells, widths, align, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return [line(headers), line(["-" * width for width in widths]), *(line(row) for row in rows)]


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _paths(stats: PathStats) -> str:
    count = f"{stats.paths:,}" + ("+" if stats.truncated else "")
    return count + (" (loops)" if stats.looped else "")


def _range(stats: PathStats) -> str:
    if stats.min_decisions is None:
        return "-"
    if stats.min_decisions == stats.max_decisions:
        return str(stats.min_decisions)
    return f"{stats.min_decisions}-{stats.max_decisions}"




def format_stats(stats: LibraryStats) -> str:
    """The coverage table printed by `python -m engine stats`."""
    out: list[str] = [f"Scenario library {stats.root}: {len(stats.scenarios)} valid scenario(s)"]
    if stats.broken_files:
        out.append(f"({len(stats.broken_files)} file(s) with errors not counted)")

    out += ["", "Scenarios by difficulty and rupture type"]
    levels = list(stats.by_difficulty)
    kinds = list(stats.by_rupture)
    rows = []
    for level in levels:
        ids = set(stats.by_difficulty[level])
        cells = [str(len(ids & set(stats.by_rupture[kind]))) for kind in kinds]
        rows.append([level, *cells, str(len(ids))])
    totals = [str(len(stats.by_rupture[kind])) for kind in kinds]
    rows.append(["total", *totals, str(len(stats.scenarios))])
    out += _table(["difficulty", *kinds, "total"], rows, "l" + "r" * (len(kinds) + 1))

    out += ["", "Scenarios"]
    rows = [
        [
            s.id, s.difficulty, s.rupture, str(len(s.decisions)),
            str(sum(d.best_is_first for d in s.decisions)), str(sum(d.best_is_longest for d in s.decisions)),
            _shorten(s.mistake),
        ]
        for s in stats.scenarios
    ]
    out += _table(
        ["scenario", "difficulty", "rupture", "decisions", "best 1st", "best longest", "mistake"], rows, "lllrrrl"
    )

    zone_ids = list(stats.zone_labels)
    out += ["", "Zones offered per decision (number of choices in each zone)"]
    rows = []
    for s in stats.scenarios:
        for decision in s.decisions:
            cells = [str(decision.zones.get(zone, 0)) if decision.zones.get(zone) else "-" for zone in zone_ids]
            flag = "missing " + ", ".join(decision.missing_zones) if decision.missing_zones else ""
            rows.append([s.id, decision.node, *cells, flag])
    out += _table(["scenario", "decision", *zone_ids, ""], rows, "ll" + "r" * len(zone_ids) + "l")

    out += ["", "Strategies used (choices tagged, across the library)"]
    rows = [
        [strategy, label, str(stats.strategies.get(strategy, 0)) if stats.strategies.get(strategy) else "-"]
        for strategy, label in stats.strategy_labels.items()
    ]
    unknown = sorted(set(stats.strategies) - set(stats.strategy_labels))
    rows += [[strategy, "(not in the rubric)", str(stats.strategies[strategy])] for strategy in unknown]
    out += _table(["strategy", "label", "choices"], rows, "llr")

    out += ["", "Paths from start to an ending (structural: ignoring conditions; playable: as trainees can play)"]
    rows = []
    for s in stats.scenarios:
        endings = ", ".join(f"{kind} {count:,}" for kind, count in s.playable.endings.items())
        rows.append([
            s.id, str(s.nodes), _paths(s.structural), _range(s.structural),
            _paths(s.playable), _range(s.playable), endings or "-",
        ])
    out += _table(
        ["scenario", "nodes", "structural", "decisions", "playable", "decisions", "playable endings"],
        rows,
        "lrrrrrl",
    )

    out += ["", f"Warnings ({len(stats.warnings)})" if stats.warnings else "Warnings: none"]
    out += [f"warning: {warning}" for warning in stats.warnings]
    return "\n".join(out)


__all__ = [
    "DecisionStats",
    "LibraryStats",
    "PathStats",
    "ScenarioStats",
    "format_stats",
    "library_stats",
    "path_stats",
    "scenario_stats",
]
