"""Engine benchmark (a script, not a test): `.venv/bin/python bench/bench_engine.py`.

Prints, from one run:

(a) the size of a generated, valid 500-node scenario written to a temp dir;
(b) the median time of a bare ``yaml.load(text, Loader=yaml.CSafeLoader)`` of
    that text against our full validation (``load_scenario_text``: parse with
    line marks, pydantic structure checks, meaning and graph checks), and the
    ratio between them (target: at most 2.0x);
(c) the throughput of 10,000 random play-throughs over the bundled library.

Options: ``--nodes N`` (default 500), ``--repeat R`` (default 15),
``--walks W`` (default 10,000), ``--profile`` (cProfile the validation and
print the top functions), ``--keep`` (keep and print the generated file's path).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine import Playthrough, load_library, load_rubric, load_scenario_text  # noqa: E402

RUBRIC = ROOT / "scenarios" / "rubric.yaml"
TARGET_RATIO = 2.0

_ZONE_SCORES = [  # one choice per zone of the bundled rubric
    {"accountability": 4, "self_focus": 0, "exploration": 4},
    {"accountability": 3, "self_focus": 4, "exploration": 1},
    {"accountability": 1, "self_focus": 3, "exploration": 0},
    {"accountability": 0, "self_focus": 0, "exploration": 1},
]
_STRATEGIES = [
    "[acknowledge, invite-exploration]",
    "[acknowledge]",
    "[give-rationale]",
    "[redirect]",
]
_SENTENCE = (
    "The client pauses, looks at the floor and says that it is fine, really, "
    "though her voice has gone quiet and she has stopped meeting your eyes."
)


def generate_scenario(nodes: int = 500, seed: int = 7) -> str:
    """A valid scenario with `nodes` nodes: decisions, routed narration, endings.

    Two thirds of the non-ending nodes are decision points with four choices
    (one per zone, some gated by `when`, with effects and routes on a
    variable); the rest are narration nodes with conditional routes. Node i
    always links to node i+1, so every node is reachable and can end.
    """
    rng = random.Random(seed)
    endings = max(3, nodes // 25)
    inner = nodes - endings
    kinds = ["repaired", "partial", "unrepaired"]
    out = [
        "# yaml-language-server: $schema=../engine/schema/scenario.v1.schema.json",
        f"id: generated-{nodes}",
        f"title: Generated scenario with {nodes} nodes",
        "client: Sam",
        "difficulty: advanced",
        "mistake: The therapist kept checking the clock while the client talked about her father.",
        "rupture: withdrawal",
        "summary: |",
        "  A generated vignette used to benchmark the validator. Sam, 34, has been",
        "  coming for six months; today you glanced at the clock twice while she spoke.",
        "objectives:",
        "  - Notice the withdrawal marker.",
        "  - Own the lapse without centring yourself.",
        "tags: [benchmark, generated]",
        "variables:",
        "  trust: 0",
        "  safety: 1",
        "start: n0",
        "nodes:",
    ]

    def target(i: int, step: int) -> str:
        j = i + step
        if j >= inner:
            return f"end{(i + step) % endings}"
        return f"n{j}"

    for i in range(inner):
        out.append(f"  n{i}:")
        out.append("    text: |")
        out.append(f'      "{_SENTENCE}" (moment {i})')
        if i % 5 == 0:
            out.append("    cue: She folds her arms and glances toward the door.")
        if i % 3 == 2:
            out.append("    next:")
            out.append(f"      - to: {target(i, 2)}")
            out.append("        when: {trust: {min: 2}}")
            out.append(f"      - to: {target(i, 3)}")
            out.append("        when: {safety: {max: 0}, trust: {max: -3}}")
            out.append(f"      - to: {target(i, 1)}")
            continue
        out.append("    choices:")
        for c, scores in enumerate(_ZONE_SCORES):
            out.append(f"      - id: c{c}-{rng.randrange(1000)}")
            out.append(
                f'        text: "Option {c} at moment {i}: I noticed I looked at the clock while you '
                'were telling me about your father, and I wonder how that landed."'
            )
            out.append(
                "        scores: {" + ", ".join(f"{name}: {value}" for name, value in scores.items()) + "}"
            )
            out.append(f"        strategies: {_STRATEGIES[c]}")
            if c == 2 and i % 2:
                out.append("        when: {safety: {min: 0, max: 5}}")
            if c in (0, 3):
                out.append(f"        effects: {{trust: {1 if c == 0 else -1}}}")
            out.append(
                "        feedback: >-\n"
                "          Naming the lapse plainly and inviting her reaction keeps the focus on\n"
                "          her experience; this is the kind of feedback a supervisor would give."
            )
            if c == 1:
                out.append("        next:")
                out.append(f"          - to: {target(i, 2)}")
                out.append("            when: {trust: {min: 1}}")
                out.append(f"          - to: {target(i, 1)}")
            else:
                out.append(f"        next: {target(i, 1 + (c % 2))}")
    for e in range(endings):
        out.append(f"  end{e}:")
        out.append(f"    text: The session ends ({e}).")
        out.append(f"    ending: {kinds[e % 3]}")
        out.append("    debrief: What happened, and why it mattered for the alliance.")
    return "\n".join(out) + "\n"


def _interleaved_medians(first, second, repeat: int) -> tuple[float, float]:
    """Median seconds of two functions, run alternately so machine noise hits both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for function, found in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            function()
            found.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def bench_validation(nodes: int, repeat: int, profile: bool, keep: bool) -> float:
    rubric = load_rubric(RUBRIC).rubric
    assert rubric is not None, "the bundled rubric must be valid"
    folder = Path(tempfile.mkdtemp(prefix="repairlab-bench-"))
    try:
        shutil.copy(RUBRIC, folder / "rubric.yaml")
        path = folder / f"generated-{nodes}.yaml"
        path.write_text(generate_scenario(nodes), encoding="utf-8")
        text = path.read_text(encoding="utf-8")
        loaded = load_scenario_text(text, rubric, str(path))
        if not loaded.ok:
            for diagnostic in loaded.diagnostics:
                print(diagnostic)
            raise SystemExit("the generated scenario does not validate")
        assert loaded.scenario is not None and len(loaded.scenario.nodes) == nodes
        print(f"(a) generated scenario: {nodes} nodes, {len(text):,} bytes, {text.count(chr(10)):,} lines")
        print(f"    {path}" if keep else "    (in a temp dir, removed afterwards)")

        def bare() -> None:
            yaml.load(text, Loader=yaml.CSafeLoader)

        def full() -> None:
            load_scenario_text(text, rubric, str(path))

        bare(), full()  # warm up
        bare_s, full_s = _interleaved_medians(bare, full, repeat)
        ratio = full_s / bare_s
        verdict = "OK" if ratio <= TARGET_RATIO else "ABOVE TARGET"
        print(f"(b) median of {repeat} runs each, interleaved:")
        print(f"    bare yaml.load(CSafeLoader)    {bare_s * 1000:8.2f} ms")
        print(f"    full validation                {full_s * 1000:8.2f} ms")
        print(f"    ratio                          {ratio:8.2f}x  (target <= {TARGET_RATIO:.1f}x: {verdict})")
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(5):
                full()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        return ratio
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def bench_playthroughs(walks: int, seed: int = 2024) -> None:
    library = load_library(ROOT / "scenarios")
    rubric = library.rubric
    scenarios = list(library.scenarios.values())
    if rubric is None or not scenarios:
        print("(c) no valid scenarios in scenarios/; skipping play-throughs")
        return
    rng = random.Random(seed)
    choices = steps = 0
    endings: dict[str, int] = {}
    start = time.perf_counter()
    for index in range(walks):
        scenario = scenarios[index % len(scenarios)]
        play = Playthrough.start(scenario, rubric)
        while not play.finished:
            if play.kind == "narration":
                play.proceed()
                continue
            offered = play.offered_choices()
            play.choose(rng.choice(offered).id)
            choices += 1
        play.report()
        steps += play.step
        endings[play.ending or "?"] = endings.get(play.ending or "?", 0) + 1
    elapsed = time.perf_counter() - start
    print(f"(c) {walks:,} random play-throughs over {len(scenarios)} bundled scenario(s):")
    print(f"    {elapsed:.2f} s, {walks / elapsed:,.0f} play-throughs/s, {choices / elapsed:,.0f} choices/s")
    print(
        f"    {choices:,} choices, {steps:,} actions; endings: "
        + ", ".join(f"{kind} {count:,}" for kind, count in sorted(endings.items()))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--walks", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    print(f"Repair Lab engine benchmark (Python {sys.version.split()[0]}, libyaml {yaml.__with_libyaml__})")
    ratio = bench_validation(args.nodes, args.repeat, args.profile, args.keep)
    bench_playthroughs(args.walks)
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
