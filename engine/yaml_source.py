"""Safe YAML reading that remembers where every key and value came from.

PyYAML's loaders forget source positions, silently keep the last of two
duplicate keys, and can be made to hang or exhaust memory by hostile input.
This module composes the document with the C parser (no object construction,
so no tags can instantiate anything), then builds plain Python data itself,
recording the line and column of each key and value, refusing duplicate keys,
unknown tags, alias bombs, excessive nesting and oversized files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # pragma: no cover - depends on how PyYAML was built
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000
# libyaml's composer recurses on flow collections and crashes the process on
# very deep `[[[[...` input, so we measure bracket depth before parsing.
MAX_FLOW_DEPTH = 200

Path = tuple[Any, ...]

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str": "string",
    "tag:yaml.org,2002:int": "integer",
    "tag:yaml.org,2002:float": "number",
    "tag:yaml.org,2002:bool": "boolean",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "date",
}


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Scalar:
    """The source text of a scalar, kept to explain YAML 1.1 surprises."""

    text: str
    kind: str  # one of the values of _PLAIN_TAGS
    quoted: bool


@dataclass
class SourceMap:
    """Where each part of a document came from, keyed by its path of keys/indices."""

    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)
    scalars: dict[Path, Scalar] = field(default_factory=dict)
    key_scalars: dict[Path, Scalar] = field(default_factory=dict)

    def value_at(self, path: Path) -> Position:
        """Position of the value at `path`, or of its nearest known ancestor."""
        path = tuple(path)
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), Position(1, 1))

    def key_at(self, path: Path) -> Position:
        """Position of the key naming `path` (falls back to the value, then ancestors)."""
        path = tuple(path)
        if path in self.keys:
            return self.keys[path]
        return self.value_at(path)


@dataclass
class YamlProblem:
    position: Position
    message: str
    fatal: bool = True  # False: the data is still usable for further checks


@dataclass
class ParsedYaml:
    data: Any = None
    source: SourceMap = field(default_factory=SourceMap)
    problems: list[YamlProblem] = field(default_factory=list)
    empty: bool = False


def _position(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _flow_depth_exceeds(text: str, limit: int) -> bool:
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for char in text:
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}" and depth:
            depth -= 1
    return False


def parse_yaml(raw: bytes | str) -> ParsedYaml:
    """Parse one YAML document into plain data plus a source map.

    Never raises for bad input: every problem is returned in `problems`.
    """
    result = ParsedYaml()
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > MAX_FILE_BYTES:
        result.problems.append(
            YamlProblem(
                Position(1, 1),
                f"file is {size:,} bytes; scenario files are limited to {MAX_FILE_BYTES:,} bytes",
            )
        )
        return result
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw[: error.start].count(b"\n") + 1
            column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
            result.problems.append(
                YamlProblem(Position(line, column), "file is not valid UTF-8 text")
            )
            return result
    else:
        text = raw
    text = text.removeprefix("\ufeff")
    if _flow_depth_exceeds(text, MAX_FLOW_DEPTH):
        result.problems.append(
            YamlProblem(
                Position(1, 1),
                f"brackets are nested more than {MAX_FLOW_DEPTH} levels deep; refusing to parse",
            )
        )
        return result
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = _position(mark) if mark else Position(1, 1)
        message = " ".join(part for part in (error.context, error.problem) if part)
        result.problems.append(YamlProblem(position, f"YAML syntax error: {message}"))
        return result
    except yaml.YAMLError as error:  # pragma: no cover - unmarked errors are rare
        result.problems.append(YamlProblem(Position(1, 1), f"YAML syntax error: {error}"))
        return result
    if root is None:
        result.empty = True
        result.problems.append(YamlProblem(Position(1, 1), "file is empty"))
        return result
    builder = _Builder(result)
    result.data = builder.build(root)
    return result


class _TooBig(Exception):
    pass


class _Builder:
    def __init__(self, result: ParsedYaml) -> None:
        self.result = result
        self.source = result.source
        self.count = 0
        self.on_path: set[int] = set()

    def problem(self, node: Any, message: str, fatal: bool = True) -> None:
        self.result.problems.append(YamlProblem(_position(node.start_mark), message, fatal))

    def build(self, root: Any) -> Any:
        try:
            return self._build(root, (), 0)
        except _TooBig:
            return None

    def _build(self, node: Any, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            self.problem(
                node,
                f"document expands to more than {MAX_NODES:,} values "
                "(too large, or an alias bomb); refusing to load it",
            )
            raise _TooBig
        if depth > MAX_DEPTH:
            self.problem(node, f"values are nested more than {MAX_DEPTH} levels deep")
            raise _TooBig
        self.source.values[path] = _position(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            value, scalar = self._scalar(node)
            if scalar is not None:
                self.source.scalars[path] = scalar
            return value
        if id(node) in self.on_path:
            self.problem(node, "an alias refers to one of its own parents (recursive data)")
            return None
        self.on_path.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                self._check_tag(node, "tag:yaml.org,2002:seq")
                return [
                    self._build(item, (*path, index), depth + 1)
                    for index, item in enumerate(node.value)
                ]
            self._check_tag(node, "tag:yaml.org,2002:map")
            return self._mapping(node, path, depth)
        finally:
            self.on_path.discard(id(node))

    def _check_tag(self, node: Any, expected: str) -> None:
        if node.tag != expected:
            self.problem(node, f"YAML tag '{node.tag}' is not allowed here")

    def _scalar(self, node: Any) -> tuple[Any, Scalar | None]:
        kind = _PLAIN_TAGS.get(node.tag)
        if kind is None:
            self.problem(node, f"YAML tag '{node.tag}' is not allowed; write a plain value")
            return node.value, None
        quoted = node.style in ("'", '"', "|", ">")
        scalar = Scalar(node.value, kind, quoted)
        text = node.value
        if kind == "string" or kind == "date":
            return text, scalar
        if kind == "null":
            return None, scalar
        if kind == "boolean":
            return text.lower() in ("yes", "true", "on", "y"), scalar
        if kind == "integer":
            try:
                return _yaml_int(text), scalar
            except ValueError:
                return text, scalar
        try:
            return float(text.replace("_", "")), scalar
        except ValueError:
            return text, scalar

    def _mapping(self, node: Any, path: Path, depth: int) -> dict[Any, Any]:
        mapping: dict[Any, Any] = {}
        first_seen: dict[Any, Position] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problem(key_node, "merge keys ('<<') are not supported; write the keys out")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, "mapping keys must be plain values, not lists or mappings")
                continue
            key, key_scalar = self._scalar(key_node)
            key_position = _position(key_node.start_mark)
            try:
                hash(key)
            except TypeError:  # pragma: no cover - scalars are hashable
                continue
            if key in first_seen:
                earlier = first_seen[key]
                self.problem(
                    key_node,
                    f"duplicate key '{key_node.value}' (first defined at line {earlier.line}); "
                    "YAML would silently keep only the last one",
                    fatal=False,
                )
                continue
            first_seen[key] = key_position
            child = (*path, key)
            self.source.keys[child] = key_position
            if key_scalar is not None:
                self.source.key_scalars[child] = key_scalar
            mapping[key] = self._build(value_node, child, depth + 1)
        return mapping


def _yaml_int(text: str) -> int:
    cleaned = text.replace("_", "")
    sign = -1 if cleaned.startswith("-") else 1
    cleaned = cleaned.lstrip("+-")
    if cleaned.startswith("0x"):
        return sign * int(cleaned[2:], 16)
    if cleaned.startswith("0o"):
        return sign * int(cleaned[2:], 8)
    if cleaned.startswith("0b"):
        return sign * int(cleaned[2:], 2)
    if ":" in cleaned:  # base-60, a YAML 1.1 relic
        value = 0
        for part in cleaned.split(":"):
            value = value * 60 + int(part)
        return sign * value
    if cleaned.startswith("0") and len(cleaned) > 1:
        return sign * int(cleaned, 8)
    return sign * int(cleaned)
