"""Safe YAML reading that remembers where every key and value came from.

PyYAML's loaders forget source positions, silently keep the last of two
duplicate keys, and can be made to hang or exhaust memory by hostile input.
This module reads the C parser's event stream (no object construction, so no
tags can instantiate anything) and builds plain Python data itself, without
recursion, recording the line and column of each key and value and refusing
duplicate keys, unknown tags, alias bombs, excessive nesting and oversized
files. Building from events instead of libyaml's composed node tree matters:
the composer recurses, so a file of 100,000 nested `- - - ...` or `[[[...`
crashes the interpreter, and it is slower.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

try:  # pragma: no cover - depends on how PyYAML was built
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000
MAX_ALIAS_VALUES = 20_000  # values that aliases may add, in all

Path = tuple[Any, ...]

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str": "string",
    "tag:yaml.org,2002:int": "integer",
    "tag:yaml.org,2002:float": "number",
    "tag:yaml.org,2002:bool": "boolean",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "date",
}


class Position(NamedTuple):
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
    builder = _Builder(result)
    try:
        builder.run(text)
    except _Stop:
        result.data = None
        return result
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = _position(mark) if mark else Position(1, 1)
        message = " ".join(part for part in (error.context, error.problem) if part)
        result.problems.append(YamlProblem(position, f"YAML syntax error: {message}"))
        result.data = None
        return result
    except yaml.YAMLError as error:  # pragma: no cover - unmarked errors are rare
        result.problems.append(YamlProblem(Position(1, 1), f"YAML syntax error: {error}"))
        result.data = None
        return result
    if not builder.documents:
        result.empty = True
        result.problems.append(YamlProblem(Position(1, 1), "file is empty"))
        return result
    result.data = builder.root
    return result


class _Stop(Exception):
    """Raised to abandon a document that is too large, too deep or malformed."""


# Plain scalars are typed the way PyYAML's SafeLoader types them (YAML 1.1).
_RESOLVERS = yaml.resolver.Resolver.yaml_implicit_resolvers
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_QUOTED_STYLES = frozenset(("'", '"', "|", ">"))
_CACHEABLE = 48  # plain scalars up to this length are typed once per document

_MAP, _SEQ, _SKIP = 0, 1, 2
_VALUES, _KEYS, _SCALARS, _KEY_SCALARS = 0, 1, 2, 3


def _resolve_plain(value: str) -> str:
    resolvers = _RESOLVERS.get(value[0] if value else "", [])
    for tag, regexp in resolvers + _RESOLVERS.get(None, []):
        if regexp.match(value):
            return tag
    return _STR


class _Frame:
    """An open mapping or sequence (or a skipped part of the document)."""

    __slots__ = (
        "kind", "container", "path", "anchor", "first_count", "height",
        "expect_key", "key", "child", "skip_value", "first_seen", "index", "nest",
    )

    def __init__(self, kind: int, container: Any, path: Path) -> None:
        self.kind = kind
        self.container = container
        self.path = path
        self.anchor: str | None = None
        self.first_count = 0
        self.height = 0
        self.expect_key = True
        self.key: Any = None
        self.child: Path = ()
        self.skip_value = False
        self.first_seen: dict[Any, Position] = {}
        self.index = 0
        self.nest = 1


class _Anchor:
    __slots__ = ("value", "size", "height", "entries", "complete", "scalar", "position")

    def __init__(self, position: Position) -> None:
        self.value: Any = None
        self.size = 1
        self.height = 0
        self.entries: list[tuple[int, Path, Any]] = []
        self.complete = False
        self.scalar: Scalar | None = None
        self.position = position


class _Builder:
    """Builds plain data and its source map from PyYAML's event stream.

    Working on events rather than on a composed node tree keeps the process
    safe from hostile input (libyaml's composer recurses and can crash the
    interpreter on deeply nested documents; we stop at `MAX_DEPTH`) and is
    faster, since no intermediate node objects are made.
    """

    def __init__(self, result: ParsedYaml) -> None:
        self.result = result
        source = result.source
        self.tables: tuple[dict[Path, Any], ...] = (
            source.values, source.keys, source.scalars, source.key_scalars,
        )
        self.count = 0
        self.aliased = 0
        self.documents = 0
        self.root: Any = None
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchor] = {}
        self.recorders: list[tuple[int, list[tuple[int, Path, Any]]]] = []
        self.cache: dict[str, tuple[Any, Scalar]] = {}

    # -- problems ------------------------------------------------------------

    def problem(self, mark: Any, message: str, fatal: bool = True) -> None:
        self.result.problems.append(YamlProblem(_position(mark), message, fatal))

    def stop(self, mark: Any, message: str) -> None:
        self.problem(mark, message)
        raise _Stop

    # -- the event loop --------------------------------------------------------

    def run(self, text: str) -> None:
        loader = _Loader(text)
        try:
            self._events(loader.get_event)
        finally:
            loader.dispose()

    def _events(self, get_event: Any) -> None:
        # The hot loop: plain scalars (most events) are handled inline.
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        mapping_end, sequence_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
        stream_end, document_start = yaml.StreamEndEvent, yaml.DocumentStartEvent
        values, keys, scalars, key_scalars = self.tables
        recorders = self.recorders
        stack = self.stack
        scalar = self.scalar
        new_position = tuple.__new__
        while True:
            event = get_event()
            cls = event.__class__
            if cls is scalar_event:
                if not stack or event.anchor is not None:
                    self.node(event, None)
                    continue
                top = stack[-1]
                kind = top.kind
                if kind == _MAP:
                    if top.expect_key:
                        if event.tag is not None or event.value == "<<":
                            self.key(top, event, None)
                            continue
                        top.expect_key = False
                        key, key_scalar = scalar(event)
                        mark = event.start_mark
                        position = new_position(Position, (mark.line + 1, mark.column + 1))
                        first_seen = top.first_seen
                        if key in first_seen:
                            top.skip_value = True
                            self.duplicate(event, key_scalar, first_seen[key])
                            continue
                        first_seen[key] = position
                        child = (*top.path, key)
                        top.key = key
                        top.child = child
                        top.skip_value = False
                        keys[child] = position
                        key_scalars[child] = key_scalar
                        if recorders:
                            self._recorded(_KEYS, child, position)
                            self._recorded(_KEY_SCALARS, child, key_scalar)
                        continue
                    top.expect_key = True
                    if top.skip_value:
                        continue
                    path = top.child
                elif kind == _SEQ:
                    path = (*top.path, top.index)
                    top.index += 1
                else:
                    continue
                self.count += 1
                if self.count > MAX_NODES or len(stack) > MAX_DEPTH:
                    self._count(event.start_mark, 0, 0)
                mark = event.start_mark
                position = new_position(Position, (mark.line + 1, mark.column + 1))
                value, found = scalar(event)
                values[path] = position
                if found is not None:
                    scalars[path] = found
                if recorders:
                    self._recorded(_VALUES, path, position)
                    if found is not None:
                        self._recorded(_SCALARS, path, found)
                if kind == _MAP:
                    top.container[top.key] = value
                else:
                    top.container.append(value)
                if top.height < 1:
                    top.height = 1
            elif cls is mapping_end or cls is sequence_end:
                self.end()
            elif cls is mapping_start:
                self.node(event, _MAP)
            elif cls is sequence_start:
                self.node(event, _SEQ)
            elif cls is alias_event:
                self.alias(event)
            elif cls is document_start:
                self.documents += 1
                if self.documents > 1:
                    self.stop(
                        event.start_mark,
                        "YAML syntax error: expected a single document in the stream "
                        "but found another document",
                    )
            elif cls is stream_end:
                return

    def _recorded(self, table: int, path: Path, item: Any) -> None:
        for base, entries in self.recorders:
            entries.append((table, path[base:], item))

    def duplicate(self, event: Any, key_scalar: Scalar | None, earlier: Position) -> None:
        shown = key_scalar.text if key_scalar is not None else event.value
        self.problem(
            event.start_mark,
            f"duplicate key '{shown}' (first defined at line {earlier.line}); "
            "YAML would silently keep only the last one",
            fatal=False,
        )

    def _place(self, event: Any, collection: int | None) -> Path | None:
        """The path of the node `event` starts, or None when it is skipped or is a key."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if top.kind == _SKIP:
            if collection is not None:
                top.nest += 1
                if len(self.stack) + top.nest > MAX_DEPTH + 1:
                    self.stop(event.start_mark, f"values are nested more than {MAX_DEPTH} levels deep")
            return None
        if top.kind == _SEQ:
            path = (*top.path, top.index)
            top.index += 1
            return path
        if top.expect_key:
            self.key(top, event, collection)
            return None
        top.expect_key = True
        if top.skip_value:
            if collection is not None:
                self.stack.append(_Frame(_SKIP, None, top.path))
            return None
        return top.child

    def _attach(self, value: Any) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if top.kind == _SEQ:
            top.container.append(value)
        else:
            top.container[top.key] = value

    def _record(self, table: int, path: Path, item: Any) -> None:
        self.tables[table][path] = item
        if self.recorders:
            self._recorded(table, path, item)

    def _count(self, mark: Any, amount: int, height: int) -> None:
        self.count += amount
        if self.count > MAX_NODES:
            self.stop(
                mark,
                f"document expands to more than {MAX_NODES:,} values "
                "(too large, or an alias bomb); refusing to load it",
            )
        if len(self.stack) + height > MAX_DEPTH:
            self.stop(mark, f"values are nested more than {MAX_DEPTH} levels deep")

    def node(self, event: Any, collection: int | None) -> None:
        path = self._place(event, collection)
        if path is None:
            return
        mark = event.start_mark
        self._count(mark, 1, 0)
        position = Position(mark.line + 1, mark.column + 1)
        self._record(_VALUES, path, position)
        anchor_name = event.anchor
        if collection is None:
            value, scalar = self.scalar(event)
            if scalar is not None:
                self._record(_SCALARS, path, scalar)
            self._attach(value)
            if self.stack:
                top = self.stack[-1]
                if top.height < 1:
                    top.height = 1
            if anchor_name is not None:
                anchor = self._new_anchor(anchor_name, mark, position)
                anchor.value, anchor.scalar, anchor.complete = value, scalar, True
                anchor.entries.append((_VALUES, (), position))
                if scalar is not None:
                    anchor.entries.append((_SCALARS, (), scalar))
            return
        tag = event.tag
        if collection == _MAP:
            if tag is not None and tag != "!" and tag != _MAP_TAG:
                self.problem(mark, f"YAML tag '{tag}' is not allowed here")
            container: Any = {}
        else:
            if tag is not None and tag != "!" and tag != _SEQ_TAG:
                self.problem(mark, f"YAML tag '{tag}' is not allowed here")
            container = []
        self._attach(container)
        frame = _Frame(collection, container, path)
        frame.first_count = self.count
        if anchor_name is not None:
            anchor = self._new_anchor(anchor_name, mark, position)
            anchor.value = container
            anchor.entries.append((_VALUES, (), position))
            frame.anchor = anchor_name
            self.recorders.append((len(path), anchor.entries))
        self.stack.append(frame)

    def _new_anchor(self, name: str, mark: Any, position: Position) -> _Anchor:
        earlier = self.anchors.get(name)
        if earlier is not None:
            self.stop(
                mark,
                f"YAML syntax error: anchor '&{name}' is defined twice "
                f"(first at line {earlier.position.line})",
            )
        anchor = self.anchors[name] = _Anchor(position)
        return anchor

    def end(self) -> None:
        frame = self.stack[-1]
        if frame.kind == _SKIP:
            frame.nest -= 1
            if frame.nest == 0:
                self.stack.pop()
            return
        self.stack.pop()
        if self.stack:
            parent = self.stack[-1]
            if parent.height < frame.height + 1:
                parent.height = frame.height + 1
        if frame.anchor is not None:
            anchor = self.anchors[frame.anchor]
            anchor.size = self.count - frame.first_count + 1
            anchor.height = frame.height
            anchor.complete = True
            self.recorders.pop()

    def _anchor_for(self, event: Any) -> _Anchor:
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            self.stop(event.start_mark, f"YAML syntax error: found undefined alias '{event.anchor}'")
        return anchor  # type: ignore[return-value]

    def alias(self, event: Any) -> None:
        path = self._place(event, None)
        if path is None:
            if self.stack and self.stack[-1].kind == _SKIP:
                self._anchor_for(event)
            return
        anchor = self._anchor_for(event)
        mark = event.start_mark
        if not anchor.complete:
            self._count(mark, 1, 0)
            self._record(_VALUES, path, _position(mark))
            self.problem(mark, "an alias refers to one of its own parents (recursive data)")
            self._attach(None)
            return
        self.aliased += anchor.size
        if self.aliased > MAX_ALIAS_VALUES:
            self.stop(
                mark,
                f"aliases expand to more than {MAX_ALIAS_VALUES:,} values (an alias bomb?); "
                "refusing to load it",
            )
        self._count(mark, anchor.size, anchor.height)
        for table, relative, item in anchor.entries:
            self._record(table, path + relative, item)
        self._attach(anchor.value)
        if self.stack:
            top = self.stack[-1]
            if top.height < anchor.height + 1:
                top.height = anchor.height + 1

    def key(self, top: _Frame, event: Any, collection: int | None) -> None:
        top.expect_key = False
        top.skip_value = True
        mark = event.start_mark
        if collection is not None:
            self.problem(mark, "mapping keys must be plain values, not lists or mappings")
            self.stack.append(_Frame(_SKIP, None, top.path))
            return
        if event.__class__ is yaml.AliasEvent:
            anchor = self._anchor_for(event)
            if not anchor.complete or anchor.scalar is None:
                self.problem(mark, "mapping keys must be plain values, not lists or mappings")
                return
            key, key_scalar = anchor.value, anchor.scalar
        else:
            if event.tag == _MERGE or (
                event.tag is None and event.implicit[0] and event.value == "<<"
            ):
                self.problem(mark, "merge keys ('<<') are not supported; write the keys out")
                return
            key, key_scalar = self.scalar(event)
        position = Position(mark.line + 1, mark.column + 1)
        if event.__class__ is not yaml.AliasEvent and event.anchor is not None:
            anchor = self._new_anchor(event.anchor, mark, position)
            anchor.value, anchor.scalar, anchor.complete = key, key_scalar, True
            anchor.entries.append((_VALUES, (), position))
            if key_scalar is not None:
                anchor.entries.append((_SCALARS, (), key_scalar))
        first_seen = top.first_seen
        if key in first_seen:
            self.duplicate(event, key_scalar, first_seen[key])
            return
        first_seen[key] = position
        child = (*top.path, key)
        self._record(_KEYS, child, position)
        if key_scalar is not None:
            self._record(_KEY_SCALARS, child, key_scalar)
        top.key = key
        top.child = child
        top.skip_value = False

    def scalar(self, event: Any) -> tuple[Any, Scalar | None]:
        text = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return text, Scalar(text, "string", event.style in _QUOTED_STYLES)
            cached = self.cache.get(text)
            if cached is not None:
                return cached
            tag = _resolve_plain(text)
        kind = _PLAIN_TAGS.get(tag)
        if kind is None:
            self.problem(event.start_mark, f"YAML tag '{tag}' is not allowed; write a plain value")
            return text, None
        scalar = Scalar(text, kind, event.style in _QUOTED_STYLES)
        value = _typed(text, kind)
        if event.tag is None and len(text) <= _CACHEABLE:
            self.cache[text] = (value, scalar)
        return value, scalar


def _typed(text: str, kind: str) -> Any:
    if kind == "string" or kind == "date":
        return text
    if kind == "null":
        return None
    if kind == "boolean":
        return text.lower() in ("yes", "true", "on", "y")
    if kind == "integer":
        try:
            return _yaml_int(text)
        except ValueError:
            return text
    try:
        return float(text.replace("_", ""))
    except ValueError:
        return text


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
