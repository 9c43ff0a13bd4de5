"""Loading a scenario library folder: one `rubric.yaml` plus one file per scenario.

A library with broken files still loads: valid scenarios are usable and each
broken file carries its diagnostics, so the app can keep serving the good ones
and show authors exactly what to fix.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, Severity, has_errors
from .model import FORMAT_VERSION, Scenario
from .rubric import Rubric
from .validate import Reporter, validate_rubric_data, validate_scenario_data
from .yaml_source import MAX_FILE_BYTES, Position, SourceMap, parse_yaml

RUBRIC_FILE = "rubric.yaml"


@dataclass
class RubricFile:
    path: Path
    rubric: Rubric | None
    diagnostics: list[Diagnostic]


@dataclass
class ScenarioFile:
    path: Path
    scenario: Scenario | None
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return self.scenario is not None and not has_errors(self.diagnostics)


@dataclass
class Library:
    root: Path
    rubric_file: RubricFile
    files: list[ScenarioFile] = field(default_factory=list)

    @property
    def rubric(self) -> Rubric | None:
        return self.rubric_file.rubric

    @property
    def scenarios(self) -> dict[str, Scenario]:
        return {f.scenario.id: f.scenario for f in self.files if f.ok and f.scenario}

    @property
    def broken_files(self) -> list[ScenarioFile]:
        return [f for f in self.files if not f.ok]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        found = list(self.rubric_file.diagnostics)
        for scenario_file in self.files:
            found.extend(scenario_file.diagnostics)
        return found


def _display(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # pragma: no cover - different drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _parse(raw: bytes | str, display_path: str) -> tuple[Any, Reporter, bool]:
    parsed = parse_yaml(raw)
    report = Reporter(display_path, parsed.source)
    for problem in parsed.problems:
        report.at(problem.position, problem.message)
    return parsed.data, report, any(problem.fatal for problem in parsed.problems)


def load_rubric_text(raw: bytes | str, display_path: str) -> RubricFile:
    data, report, broken = _parse(raw, display_path)
    rubric = None if broken else validate_rubric_data(data, report)
    return RubricFile(Path(display_path), rubric, _unique(report.diagnostics))


def load_rubric(path: Path) -> RubricFile:
    try:
        raw = _read(path)
    except OSError as error:
        return RubricFile(path, None, [_io_error(path, error)])
    loaded = load_rubric_text(raw, _display(path))
    loaded.path = path
    return loaded


def load_scenario_text(
    raw: bytes | str, rubric: Rubric | None, display_path: str
) -> ScenarioFile:
    """Validate one scenario document's text against a rubric."""
    data, report, broken = _parse(raw, display_path)
    if broken:
        return ScenarioFile(Path(display_path), None, report.diagnostics)
    scenario = validate_scenario_data(data, rubric, report)
    if rubric is None:
        report.at(
            Position(1, 1),
            f"cannot check scores and strategies: this folder's {RUBRIC_FILE} is missing or invalid",
        )
        scenario = None
    return ScenarioFile(Path(display_path), scenario, _unique(report.diagnostics))


def load_scenario(path: Path, rubric: Rubric | None = None) -> ScenarioFile:
    """Load one scenario file; its rubric is the `rubric.yaml` beside it unless given."""
    path = Path(path)
    if rubric is None:
        rubric = load_rubric(path.parent / RUBRIC_FILE).rubric
    try:
        raw = _read(path)
    except OSError as error:
        return ScenarioFile(path, None, [_io_error(path, error)])
    loaded = load_scenario_text(raw, rubric, _display(path))
    loaded.path = path
    return loaded


def load_library(root: Path | str) -> Library:
    root = Path(root)
    rubric_file = load_rubric(root / RUBRIC_FILE)
    library = Library(root, rubric_file)
    if not root.is_dir():
        rubric_file.diagnostics.append(
            Diagnostic(_display(root), 1, 1, Severity.ERROR, "scenario library folder not found")
        )
        return library
    first_seen: dict[str, Path] = {}
    for path in sorted(root.glob("*.yaml")) + sorted(root.glob("*.yml")):
        if path.name == RUBRIC_FILE:
            continue
        loaded = load_scenario(path, rubric_file.rubric)
        if loaded.scenario is not None:
            scenario_id = loaded.scenario.id
            if scenario_id in first_seen:
                try:
                    position = parse_yaml(_read(path)).source.value_at(("id",))
                except OSError:  # pragma: no cover - the file vanished meanwhile
                    position = Position(1, 1)
                loaded.diagnostics.append(
                    Diagnostic(
                        _display(path), position.line, position.column, Severity.ERROR,
                        f"duplicate scenario id '{scenario_id}' (already used by {first_seen[scenario_id].name})",
                    )
                )
                loaded.scenario = None
            else:
                first_seen[scenario_id] = path
        library.files.append(loaded)
    return library


def _read(path: Path) -> bytes:
    """The file's bytes; a file over the size limit is refused without reading it whole."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_FILE_BYTES:
            raise _TooLarge(size)
        return handle.read(MAX_FILE_BYTES + 1)


class _TooLarge(OSError):
    def __init__(self, size: int) -> None:
        super().__init__(f"file is {size:,} bytes; scenario files are limited to {MAX_FILE_BYTES:,} bytes")
        self.size = size


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Sorted, without repeats (an alias used twice repeats its anchor's problems)."""
    return sorted(set(diagnostics))


def _io_error(path: Path, error: OSError) -> Diagnostic:
    if isinstance(error, _TooLarge):
        return Diagnostic(_display(path), 1, 1, Severity.ERROR, str(error))
    return Diagnostic(_display(path), 1, 1, Severity.ERROR, f"cannot read file: {error.strerror or error}")


# --------------------------------------------------------------------------
# Versions: the exact content an attempt was played on
# --------------------------------------------------------------------------


def snapshot(scenario: Scenario, rubric: Rubric) -> dict[str, Any]:
    """Everything needed to replay and score an attempt, as plain JSON data."""
    return {
        "format": FORMAT_VERSION,
        "scenario": scenario.model_dump(mode="json", exclude_none=True),
        "rubric": rubric.model_dump(mode="json"),
    }


def snapshot_json(scenario: Scenario, rubric: Rubric) -> str:
    return json.dumps(snapshot(scenario, rubric), sort_keys=True, separators=(",", ":"))


def content_hash(scenario: Scenario, rubric: Rubric) -> str:
    """A stable id of this scenario version together with the rubric that scores it."""
    return hashlib.sha256(snapshot_json(scenario, rubric).encode("utf-8")).hexdigest()


def from_snapshot(data: dict[str, Any] | str) -> tuple[Scenario, Rubric]:
    if isinstance(data, str):
        data = json.loads(data)
    rubric = Rubric.model_validate(_int_keys(data["rubric"]), strict=False)
    scenario = Scenario.model_validate(data["scenario"], strict=False)
    return scenario, rubric


def _int_keys(rubric: dict[str, Any]) -> dict[str, Any]:
    """JSON turns the integer keys of rubric levels into strings; turn them back."""
    copy = json.loads(json.dumps(rubric))
    for dim in copy.get("dimensions", {}).values():
        dim["levels"] = {int(k): v for k, v in dim.get("levels", {}).items()}
    return copy


__all__ = [
    "Library",
    "RubricFile",
    "ScenarioFile",
    "SourceMap",
    "content_hash",
    "from_snapshot",
    "load_library",
    "load_rubric",
    "load_rubric_text",
    "load_scenario",
    "load_scenario_text",
    "snapshot",
    "snapshot_json",
]
