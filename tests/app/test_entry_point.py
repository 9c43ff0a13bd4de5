"""`streamlit run streamlit_app.py` starts an st.App that warms up before its first request."""

from __future__ import annotations

import ast
import gc
from pathlib import Path

from streamlit.web.server.app_discovery import discover_asgi_app

ROOT = Path(__file__).resolve().parents[2]


def test_streamlit_run_finds_the_asgi_app_with_its_start_up_hook() -> None:
    found = discover_asgi_app(ROOT / "streamlit_app.py")
    assert found.is_asgi_app and found.app_name == "app"
    tree = ast.parse((ROOT / "streamlit_app.py").read_text())
    call = next(
        node.value for node in tree.body
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["app"]
    )
    assert isinstance(call, ast.Call)
    assert ast.literal_eval(call.args[0]) == "app_script.py" and (ROOT / "app_script.py").is_file()
    assert any(keyword.arg == "lifespan" for keyword in call.keywords)


def test_the_warm_up_loads_the_services_and_the_library(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("REPAIRLAB_DATABASE_URL", f"sqlite:///{tmp_path / 'warm.db'}")
    monkeypatch.setenv("REPAIRLAB_SCENARIOS", str(ROOT / "scenarios"))
    import streamlit_app
    import ui.context
    from ui.context import get_services

    builds = []
    real_build = ui.context.build_services
    monkeypatch.setattr(ui.context, "build_services", lambda: builds.append(1) or real_build())
    get_services.clear()
    try:
        streamlit_app._warm_up()
        services = get_services()  # what the first visitor's page asks for
        assert builds == [1], "the first visitor must find the services already built"
        assert gc.get_freeze_count() > 10_000  # start-up's objects are out of the collector's way
        assert (tmp_path / "warm.db").exists()
        assert len(services.catalog.entries()) >= 14
    finally:
        gc.unfreeze()
        get_services.clear()
