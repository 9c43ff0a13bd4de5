"""`python -m engine`: validate, play, graph and export the schema from a shell.

Exit codes: 0 success; 1 validation errors; 2 a play-through that cannot be
carried out as asked (unknown choice, choices running out before an ending).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .diagnostics import Diagnostic, has_errors
from .graph import to_dot
from .library import RUBRIC_FILE, load_library, load_rubric, load_scenario
from .runtime import PlayError, Playthrough
from .schema import render, rubric_schema, scenario_schema

DEFAULT_LIBRARY = Path("scenarios")


def _collect(paths: list[Path]) -> tuple[list[Diagnostic], int]:
    diagnostics: list[Diagnostic] = []
    files = 0
    for path in paths:
        if path.is_dir():
            library = load_library(path)
            diagnostics.extend(library.diagnostics)
            files += 1 + len(library.files)
        elif path.name == RUBRIC_FILE:
            diagnostics.extend(load_rubric(path).diagnostics)
            files += 1
        else:
            diagnostics.extend(load_scenario(path).diagnostics)
            files += 1
    return diagnostics, files


def cmd_validate(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths] or [DEFAULT_LIBRARY]
    diagnostics, files = _collect(paths)
    for diagnostic in diagnostics:
        print(diagnostic)
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    print(f"{files} file(s) checked: {errors} error(s), {warnings} warning(s)")
    return 1 if errors else 0


def _load_playable(path: Path):
    loaded = load_scenario(path)
    if not loaded.ok or loaded.scenario is None:
        for diagnostic in loaded.diagnostics:
            print(diagnostic, file=sys.stderr)
        return None, None
    rubric = load_rubric(path.parent / RUBRIC_FILE).rubric
    return loaded.scenario, rubric


def cmd_play(args: argparse.Namespace) -> int:
    scenario, rubric = _load_playable(Path(args.scenario))
    if scenario is None:
        return 1
    wanted = [c.strip() for c in (args.choose or "").split(",") if c.strip()]
    play = Playthrough.start(scenario, rubric)
    try:
        play.proceed_through_narration()
        for choice_id in wanted:
            if play.finished:
                print(f"error: the scenario ended at '{play.node_id}' before choice '{choice_id}'", file=sys.stderr)
                return 2
            play.choose(choice_id)
            play.proceed_through_narration()
    except PlayError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not play.finished:
        offered = ", ".join(c.id for c in play.offered_choices())
        print(
            f"error: choices ran out at node '{play.node_id}' before an ending; offered: {offered}",
            file=sys.stderr,
        )
        return 2
    report = play.report()
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return 0
    for outcome in report.choices:
        print(
            f"{outcome.node}: {outcome.choice}  score {outcome.score:.1f} "
            f"(best offered {outcome.best_score:.1f})  zone {rubric.zone_label(outcome.zone)}"
        )
    score = "n/a" if report.score is None else f"{report.score:.1f}"
    zone = "n/a" if report.zone is None else rubric.zone_label(report.zone)
    print(f"ending: {report.ending}  score {score}  zone {zone}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    schema = rubric_schema() if args.rubric else scenario_schema()
    sys.stdout.write(render(schema))
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    scenario, _ = _load_playable(Path(args.scenario))
    if scenario is None:
        return 1
    sys.stdout.write(to_dot(scenario))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from .stats import format_stats, library_stats

    path = Path(args.path) if args.path else DEFAULT_LIBRARY
    library = load_library(path)
    stats = library_stats(library)
    print(format_stats(stats))
    return 1 if has_errors(library.diagnostics) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="Repair Lab scenario engine")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check scenario files or library folders")
    validate.add_argument("paths", nargs="*", help="files or folders (default: scenarios/)")
    validate.set_defaults(func=cmd_validate)
    play = sub.add_parser("play", help="play a scenario with the given choices")
    play.add_argument("scenario")
    play.add_argument("--choose", default="", help="comma-separated choice ids, in order")
    play.add_argument("--json", action="store_true", help="print the report as one JSON object")
    play.set_defaults(func=cmd_play)
    schema = sub.add_parser("schema", help="print the JSON Schema of the scenario format")
    schema.add_argument("--rubric", action="store_true", help="print the rubric schema instead")
    schema.set_defaults(func=cmd_schema)
    graph = sub.add_parser("graph", help="print a scenario as a Graphviz DOT graph")
    graph.add_argument("scenario")
    graph.set_defaults(func=cmd_graph)
    stats = sub.add_parser("stats", help="coverage table of a library")
    stats.add_argument("path", nargs="?")
    stats.set_defaults(func=cmd_stats)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
