"""The engine is the pure domain: no UI, database, charting or app code in engine/.

Checked twice: statically, by parsing every import of every engine module, and
dynamically, by importing the engine (and running its command line's code
paths) in a fresh interpreter and looking at what ended up in sys.modules.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENGINE = PROJECT_ROOT / "engine"
FORBIDDEN = ("streamlit", "sqlalchemy", "plotly", "pandas", "alembic", "psycopg", "repairlab", "ui")
ENGINE_MODULES = sorted(ENGINE.rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported anywhere in a file (including inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Name, ast.Attribute))
            and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def is_forbidden(module: str) -> bool:
    return module.split(".")[0] in FORBIDDEN


def test_the_engine_has_modules_to_check() -> None:
    assert len(ENGINE_MODULES) >= 10


@pytest.mark.parametrize("path", ENGINE_MODULES, ids=[str(p.relative_to(ENGINE)) for p in ENGINE_MODULES])
def test_no_engine_module_imports_ui_database_charting_or_app_code(path: Path) -> None:
    bad = sorted(module for module in imported_modules(path) if is_forbidden(module))
    assert bad == [], f"{path.relative_to(PROJECT_ROOT)} imports {bad}"


def test_the_import_checker_would_catch_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nimport streamlit as st\nfrom sqlalchemy.orm import Session\n"
        "def f():\n    import plotly.express\n    __import__('pandas')\nfrom . import sibling\n"
    )
    assert sorted(m for m in imported_modules(sample) if is_forbidden(m)) == [
        "pandas", "plotly.express", "sqlalchemy.orm", "streamlit",
    ]


def test_importing_and_using_the_engine_loads_none_of_the_forbidden_packages() -> None:
    script = f"""
import io, json, sys, contextlib
import engine
import engine.cli, engine.graph, engine.schema, engine.stats, engine.validate, engine.yaml_source
from engine import load_library, best_path
library = load_library({str(PROJECT_ROOT / "scenarios")!r})
for scenario in library.scenarios.values():
    best_path(scenario, library.rubric).report().to_dict()
with contextlib.redirect_stdout(io.StringIO()):
    engine.cli.main(["stats", {str(PROJECT_ROOT / "scenarios")!r}])
    engine.cli.main(["schema"])
print(json.dumps(sorted(sys.modules)))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert "engine" in loaded
    assert sorted(module for module in loaded if is_forbidden(module)) == []
