"""Validation of rubric and scenario documents, with every problem located.

Two passes over one parsed document:

1. structure: the pydantic models of `model` and `rubric` (types, required
   and unknown keys, allowed values); their errors are translated into
   `file:line:col` diagnostics with hints (closest key, YAML 1.1 booleans);
2. meaning: references between nodes, scores against the rubric, declared
   variables, routes, and the shape of the graph (reachability, endings).

The second pass reads the raw data defensively, so it runs even when the
first pass found problems and a single run reports all it can.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from .diagnostics import Diagnostic, Severity
from .model import SLUG, Bound, Choice, Node, Route, Scenario
from .rubric import Axes, Dimension, Rubric, Zone
from .yaml_source import Path, Position, SourceMap

_UNION_TAGS = {"str", "list[Route]"}
_KIND_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null (nothing)",
    "date": "a date",
}
_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


class Reporter:
    """Collects diagnostics for one file, positioned through its source map."""

    def __init__(self, display_path: str, source: SourceMap) -> None:
        self.display_path = display_path
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    def at(self, position: Position, message: str, severity: Severity = Severity.ERROR) -> None:
        self.diagnostics.append(
            Diagnostic(self.display_path, position.line, position.column, severity, message)
        )

    def value(self, path: Path, message: str, severity: Severity = Severity.ERROR) -> None:
        self.at(self.source.value_at(path), message, severity)

    def key(self, path: Path, message: str, severity: Severity = Severity.ERROR) -> None:
        self.at(self.source.key_at(path), message, severity)


def closest(word: Any, options: Iterable[Any]) -> str:
    """A ` did you mean 'x'?` suffix, or a list of the options when nothing is close."""
    options = [str(option) for option in options]
    matches = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if matches:
        return f"; did you mean '{matches[0]}'?"
    if not options:
        return ""
    shown = ", ".join(f"'{option}'" for option in sorted(options)[:12])
    more = ", ..." if len(options) > 12 else ""
    return f"; expected one of {shown}{more}"


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text '{shown}'"
    return f"the {type(value).__name__} {value!r}"


def get_raw(data: Any, path: Path) -> Any:
    for part in path:
        if isinstance(data, dict) and part in data or isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


# --------------------------------------------------------------------------
# Pass 1: structure (pydantic)
# --------------------------------------------------------------------------


def _model_at(root: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The model class describing the mapping at `path` (for unknown-key hints)."""
    names = [part for part in path if isinstance(part, (str, bool))]
    if root is Scenario:
        if not path:
            return Scenario
        if len(path) == 2 and path[0] == "nodes":
            return Node
        if len(path) >= 2 and path[-2] == "choices":
            return Choice
        if len(path) >= 2 and path[-2] == "next":
            return Route
        if len(path) >= 2 and path[-2] == "when" or (len(path) >= 3 and "when" in names[-2:]):
            return Bound
        return None
    if not path:
        return Rubric
    if len(path) == 2 and path[0] == "dimensions":
        return Dimension
    if path == ("axes",):
        return Axes
    if len(path) == 2 and path[0] == "zones":
        return Zone
    return None


def structure_errors(
    model: type[BaseModel], data: Any, report: Reporter
) -> BaseModel | None:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        errors = error.errors(include_url=False, include_context=True)
    seen_unions: set[Path] = set()
    unknown_keys: dict[Path, list[str]] = {}
    for item in errors:
        if item["type"] == "extra_forbidden" and item["loc"]:
            unknown_keys.setdefault(tuple(item["loc"][:-1]), []).append(str(item["loc"][-1]))
    for item in errors:
        loc = tuple(item["loc"])
        if item["type"] == "missing" and loc and difflib.get_close_matches(
            str(loc[-1]), unknown_keys.get(loc[:-1], []), n=1, cutoff=0.6
        ):
            continue  # a misspelt key: the unknown-key error says it all
        union_at = next(
            (i for i, part in enumerate(loc) if part in _UNION_TAGS and i > 0 and loc[i - 1] == "next"),
            None,
        )
        if union_at is not None:
            prefix = loc[:union_at]
            raw = get_raw(data, prefix)
            if isinstance(raw, list) and loc[union_at] != "str":
                loc = prefix + loc[union_at + 1 :]
            elif isinstance(raw, list):
                continue
            else:
                if prefix in seen_unions:
                    continue
                seen_unions.add(prefix)
                report.value(
                    prefix,
                    f"'{dotted(prefix)}' must be a node id or a list of routes "
                    f"({{to: node, when: condition}}), got {describe(raw)}",
                )
                continue
        _report_structure_error(model, data, loc, item, report)
    return None


def _yaml_hint(report: Reporter, path: Path, as_key: bool = False) -> str:
    scalars = report.source.key_scalars if as_key else report.source.scalars
    scalar = scalars.get(path)
    if scalar is None or scalar.quoted or scalar.kind == "string":
        return ""
    return (
        f" (YAML reads the unquoted '{scalar.text}' as {_KIND_WORDS.get(scalar.kind, scalar.kind)}; "
        f"put it in quotes: \"{scalar.text}\")"
    )


def _report_structure_error(
    model: type[BaseModel], data: Any, loc: Path, item: dict[str, Any], report: Reporter
) -> None:
    kind = item["type"]
    where = dotted(loc)
    if loc and loc[-1] == "[key]":
        key_path = loc[:-1]
        key = key_path[-1]
        scalar = report.source.key_scalars.get(key_path)
        if scalar is not None and scalar.kind == "boolean":
            key = bool(key)  # pydantic reports the key False as 0
        expected = _TYPE_WORDS.get(kind, "text")
        report.key(
            key_path,
            f"key {describe(key)} in '{dotted(key_path[:-1])}' must be {expected}"
            f"{_yaml_hint(report, key_path, as_key=True) if expected == 'text' else ''}",
        )
        return
    if kind == "missing":
        parent = loc[:-1]
        report.value(parent, f"missing required key '{loc[-1]}' in '{dotted(parent)}'")
        return
    if kind == "extra_forbidden":
        parent_model = _model_at(model, loc[:-1])
        options = list(parent_model.model_fields) if parent_model else []
        report.key(loc, f"unknown key '{loc[-1]}' in '{dotted(loc[:-1])}'{closest(loc[-1], options)}")
        return
    value = get_raw(data, loc)
    if kind == "literal_error":
        expected = item.get("ctx", {}).get("expected", "")
        report.value(loc, f"'{where}' cannot be {describe(value)}; expected {expected}{_yaml_hint(report, loc)}")
        return
    if kind == "string_pattern_mismatch":
        report.value(
            loc,
            f"'{where}' is '{value}', which is not a valid id: use lower-case letters, digits "
            "and hyphens, starting with a letter or digit",
        )
        return
    if kind in ("too_short", "string_too_short"):
        report.value(loc, f"'{where}' must not be empty")
        return
    if kind in ("too_long", "string_too_long"):
        limit = item.get("ctx", {}).get("max_length")
        report.value(loc, f"'{where}' is too long (the limit is {limit})")
        return
    if kind in _TYPE_WORDS:
        report.value(
            loc,
            f"'{where}' must be {_TYPE_WORDS[kind]}, got {describe(value)}{_yaml_hint(report, loc)}",
        )
        return
    report.value(loc, f"'{where}': {item['msg']}")


# --------------------------------------------------------------------------
# Pass 2: meaning
# --------------------------------------------------------------------------


def check_rubric(data: Any, report: Reporter) -> None:
    if not isinstance(data, dict):
        return
    dimensions = data.get("dimensions")
    if isinstance(dimensions, dict):
        for name, dim in dimensions.items():
            if isinstance(name, str) and not _is_slug(name, allow_underscore=True):
                report.key(("dimensions", name), f"dimension id '{name}' is not a valid id")
            if not isinstance(dim, dict):
                continue
            low, high, ideal = dim.get("min"), dim.get("max"), dim.get("ideal")
            if not all(_is_int(v) for v in (low, high)):
                continue
            if low >= high:
                report.value(("dimensions", name, "max"), f"dimension '{name}': max ({high}) must be greater than min ({low})")
                continue
            if _is_int(ideal) and not low <= ideal <= high:
                report.value(("dimensions", name, "ideal"), f"dimension '{name}': ideal {ideal} is outside its range {low}-{high}")
            levels = dim.get("levels")
            if isinstance(levels, dict):
                for level in levels:
                    if _is_int(level) and not low <= level <= high:
                        report.key(("dimensions", name, "levels", level), f"level {level} of '{name}' is outside its range {low}-{high}")
    axes = data.get("axes")
    if isinstance(axes, dict) and isinstance(dimensions, dict):
        for axis in ("x", "y"):
            name = axes.get(axis)
            if isinstance(name, str) and name not in dimensions:
                report.value(("axes", axis), f"axis {axis} names unknown dimension '{name}'{closest(name, dimensions)}")
        if axes.get("x") is not None and axes.get("x") == axes.get("y"):
            report.value(("axes", "y"), "axes x and y must be two different dimensions")
    zones = data.get("zones")
    if isinstance(zones, dict):
        if len(zones) != 4:
            report.value(("zones",), f"there must be exactly four zones, one per quadrant; found {len(zones)}")
        seen: dict[tuple[Any, Any], Any] = {}
        for zone_id, zone in zones.items():
            if isinstance(zone_id, str) and not _is_slug(zone_id):
                report.key(("zones", zone_id), f"zone id '{zone_id}' is not a valid id")
            if not isinstance(zone, dict) or not all(zone.get(axis) in ("high", "low") for axis in "xy"):
                continue
            combo = (zone.get("x"), zone.get("y"))
            if combo in seen:
                report.key(("zones", zone_id), f"zone '{zone_id}' covers x={combo[0]}, y={combo[1]}, already covered by zone '{seen[combo]}'")
            seen[combo] = zone_id
        levels_ok = all(
            isinstance(zone, dict) and zone.get("x") in ("high", "low") and zone.get("y") in ("high", "low")
            for zone in zones.values()
        )
        if len(zones) == 4 and levels_ok:
            for combo in [("high", "high"), ("high", "low"), ("low", "high"), ("low", "low")]:
                if combo not in seen:
                    report.value(("zones",), f"no zone covers x={combo[0]}, y={combo[1]}")
    strategies = data.get("strategies")
    if isinstance(strategies, dict):
        for strategy in strategies:
            if isinstance(strategy, str) and not _is_slug(strategy, allow_underscore=True):
                report.key(("strategies", strategy), f"strategy id '{strategy}' is not a valid id")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_slug(value: str, allow_underscore: bool = False) -> bool:
    import re

    pattern = r"^[a-z0-9][a-z0-9_-]*$" if allow_underscore else SLUG
    return re.match(pattern, value) is not None


def check_scenario(data: Any, rubric: Rubric | None, report: Reporter) -> None:
    if not isinstance(data, dict):
        return
    nodes = data.get("nodes")
    if not isinstance(nodes, dict):
        return
    node_ids = [node_id for node_id in nodes if isinstance(node_id, str)]
    typed_keys = {
        scalar.text: report.source.key_at(("nodes", node_id))
        for node_id in nodes
        if not isinstance(node_id, str)
        and (scalar := report.source.key_scalars.get(("nodes", node_id))) is not None
    }
    variables = data.get("variables") if isinstance(data.get("variables"), dict) else {}
    edges: dict[str, set[str]] = {node_id: set() for node_id in node_ids}
    endings: set[str] = set()

    def check_target(path: Path, target: Any, source: str) -> None:
        if not isinstance(target, str):
            return
        if target not in nodes:
            misread = typed_keys.get(target)
            if misread is not None:
                report.value(
                    path,
                    f"unknown node '{target}': the node written '{target}' at line {misread.line} "
                    f"is not text to YAML; put its id in quotes there",
                )
            else:
                report.value(path, f"unknown node '{target}'{closest(target, node_ids)}")
        elif source in edges:
            edges[source].add(target)

    def check_condition(path: Path, condition: Any) -> None:
        if not isinstance(condition, dict):
            return
        if not condition:
            report.value(path, f"'{dotted(path)}' is an empty condition; give at least one variable")
        for name, bound in condition.items():
            if name not in variables:
                report.key((*path, name), f"variable '{name}' is not declared under 'variables'{closest(name, variables)}")
            if isinstance(bound, dict):
                if not bound:
                    report.value((*path, name), f"condition on '{name}' needs min, max or both")
                low, high = bound.get("min"), bound.get("max")
                if _is_int(low) and _is_int(high) and low > high:
                    report.value((*path, name), f"condition on '{name}' can never hold: min {low} is greater than max {high}")

    def check_next(path: Path, next_: Any, source: str) -> None:
        if isinstance(next_, str):
            check_target(path, next_, source)
            return
        if not isinstance(next_, list):
            return
        if not next_:
            report.value(path, "a list of routes must not be empty")
            return
        for index, route in enumerate(next_):
            if not isinstance(route, dict):
                continue
            check_target((*path, index, "to"), route.get("to"), source)
            last = index == len(next_) - 1
            if "when" in route:
                check_condition((*path, index, "when"), route.get("when"))
                if last:
                    report.value((*path, index), "the last route must have no 'when': it is the fallback taken when no other route applies")
            elif not last:
                report.value((*path, index), f"route {index + 1} has no 'when', so the routes after it can never be taken")

    start = data.get("start")
    if isinstance(start, str) and start not in nodes:
        report.value(("start",), f"start names unknown node '{start}'{closest(start, node_ids)}")
    if isinstance(variables, dict):
        for name in variables:
            if isinstance(name, str) and not _is_slug(name.lower(), allow_underscore=True):
                report.key(("variables", name), f"variable name '{name}' is not valid: use letters, digits, '_' or '-'")

    dimension_ids = rubric.dimension_ids if rubric else []
    strategy_ids = list(rubric.strategies) if rubric else []
    for node_id, node in nodes.items():
        base: Path = ("nodes", node_id)
        if not isinstance(node, dict):
            continue
        present = [key for key in ("choices", "next", "ending") if key in node]
        if len(present) != 1:
            detail = f"it has {' and '.join(present)}" if present else "it has none"
            report.key(base, f"node '{node_id}' must have exactly one of 'choices', 'next' or 'ending'; {detail}")
        if "debrief" in node and "ending" not in node:
            report.key((*base, "debrief"), f"'debrief' is only allowed on ending nodes; node '{node_id}' is not an ending")
        if "ending" in node and isinstance(node_id, str):
            endings.add(node_id)
        if "next" in node and "choices" not in node:
            check_next((*base, "next"), node["next"], node_id)
        choices = node.get("choices")
        if not isinstance(choices, list):
            continue
        if len(choices) < 2:
            report.value((*base, "choices"), f"decision point '{node_id}' has {len(choices)} choice(s); it needs at least 2")
        seen_ids: dict[Any, int] = {}
        unconditional = 0
        for index, choice in enumerate(choices):
            path: Path = (*base, "choices", index)
            if not isinstance(choice, dict):
                continue
            choice_id = choice.get("id")
            if isinstance(choice_id, str):
                if choice_id in seen_ids:
                    report.value((*path, "id"), f"duplicate choice id '{choice_id}' in node '{node_id}' (also choice {seen_ids[choice_id] + 1})")
                else:
                    seen_ids[choice_id] = index
            if "when" in choice:
                check_condition((*path, "when"), choice.get("when"))
            else:
                unconditional += 1
            effects = choice.get("effects")
            if isinstance(effects, dict):
                for name in effects:
                    if name not in variables:
                        report.key((*path, "effects", name), f"variable '{name}' is not declared under 'variables'{closest(name, variables)}")
            check_next((*path, "next"), choice.get("next"), node_id)
            scores = choice.get("scores")
            if rubric is not None and isinstance(scores, dict):
                misspelt: set[str] = set()
                for dimension, value in scores.items():
                    if dimension not in rubric.dimensions:
                        hint = closest(dimension, dimension_ids)
                        report.key((*path, "scores", dimension), f"unknown rubric dimension '{dimension}'{hint}")
                        misspelt.update(difflib.get_close_matches(str(dimension), dimension_ids, n=1, cutoff=0.6))
                        continue
                    dim = rubric.dimensions[dimension]
                    if _is_int(value) and not dim.min <= value <= dim.max:
                        report.value((*path, "scores", dimension), f"score {value} for '{dimension}' is outside its range {dim.min}-{dim.max}")
                missing = [name for name in dimension_ids if name not in scores and name not in misspelt]
                if missing:
                    report.value((*path, "scores"), f"choice '{choice_id}' has no score for {', '.join(repr(m) for m in missing)}; every rubric dimension needs one")
            strategies = choice.get("strategies")
            if rubric is not None and isinstance(strategies, list):
                for position, strategy in enumerate(strategies):
                    if isinstance(strategy, str) and strategy not in rubric.strategies:
                        report.value((*path, "strategies", position), f"unknown strategy '{strategy}'{closest(strategy, strategy_ids)}")
        if choices and unconditional == 0:
            report.value((*base, "choices"), f"every choice at '{node_id}' has a 'when'; if none holds the trainee is stuck", Severity.WARNING)

    graph_complete = all(isinstance(node, dict) and _fully_linked(node, nodes) for node in nodes.values())
    if isinstance(start, str) and start in nodes and graph_complete:
        # with broken links, "unreachable" would mostly echo errors already reported
        reachable = _walk(start, edges)
        for node_id in node_ids:
            if node_id not in reachable:
                report.key(("nodes", node_id), f"node '{node_id}' can never be reached from start '{start}'", Severity.WARNING)
    reverse: dict[str, set[str]] = {node_id: set() for node_id in node_ids}
    for source, targets in edges.items():
        for target in targets:
            reverse.setdefault(target, set()).add(source)
    can_end: set[str] = set()
    for ending in endings:
        can_end |= _walk(ending, reverse)
    for node_id in node_ids:
        node = nodes[node_id]
        if isinstance(node, dict) and node_id not in can_end and _fully_linked(node, nodes):
            report.key(("nodes", node_id), f"no ending can be reached from node '{node_id}'")


def _fully_linked(node: dict[str, Any], nodes: dict[Any, Any]) -> bool:
    """True when all of a node's links are valid, so 'no ending' is not a side effect of a typo."""
    targets: list[Any] = []

    def collect(next_: Any) -> None:
        if isinstance(next_, list):
            if not next_:
                targets.append(None)  # an empty route list, reported
            for route in next_:
                targets.append(route.get("to") if isinstance(route, dict) else None)
        else:
            targets.append(next_)

    kinds = [key for key in ("choices", "next", "ending") if key in node]
    if len(kinds) != 1:
        return False  # reported as a node of the wrong shape
    if "next" in node:
        collect(node["next"])
    choices = node.get("choices")
    if "choices" in node and (not isinstance(choices, list) or not choices):
        return False  # reported: not a list, or no choices at all
    for choice in choices or []:
        if not isinstance(choice, dict):
            return False
        collect(choice.get("next"))
    return all(isinstance(t, str) and t in nodes for t in targets)


def _walk(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for target in edges.get(queue.popleft(), ()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def validate_rubric_data(data: Any, report: Reporter) -> Rubric | None:
    if not isinstance(data, dict):
        report.value((), f"a rubric must be a mapping at the top level, got {describe(data)}")
        return None
    rubric = structure_errors(Rubric, data, report)
    before = len(report.diagnostics)
    check_rubric(data, report)
    if rubric is None or len(report.diagnostics) > before:
        return None
    return rubric  # type: ignore[return-value]


def validate_scenario_data(data: Any, rubric: Rubric | None, report: Reporter) -> Scenario | None:
    if not isinstance(data, dict):
        report.value((), f"a scenario must be a mapping at the top level, got {describe(data)}")
        return None
    scenario = structure_errors(Scenario, data, report)
    check_scenario(data, rubric, report)
    if any(d.is_error for d in report.diagnostics) or scenario is None:
        return None
    return scenario  # type: ignore[return-value]


__all__ = [
    "Reporter",
    "validate_rubric_data",
    "validate_scenario_data",
    "closest",
    "Choice",
    "Route",
]
