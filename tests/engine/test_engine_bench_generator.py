"""The benchmark's generated scenario stays valid (so `bench/bench_engine.py` keeps measuring)."""

from __future__ import annotations

import importlib.util

from engine_support import PROJECT_ROOT

from engine import best_path, load_library, load_scenario_text


def load_bench_module():
    spec = importlib.util.spec_from_file_location("bench_engine", PROJECT_ROOT / "bench" / "bench_engine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_benchmark_scenario_is_valid_with_the_bundled_rubric() -> None:
    bench = load_bench_module()
    rubric = load_library(PROJECT_ROOT / "scenarios").rubric
    assert rubric is not None
    loaded = load_scenario_text(bench.generate_scenario(60), rubric, "generated.yaml")
    assert [str(d) for d in loaded.diagnostics] == []
    assert loaded.scenario is not None and len(loaded.scenario.nodes) == 60
    assert best_path(loaded.scenario, rubric).finished
