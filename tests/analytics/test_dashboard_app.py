"""The dashboard and trend pages through Streamlit's AppTest, on both backends."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from repairlab.db.tables import AuditEntry
from ui import dashboard_view

from .conftest import NAMES, SCENARIO

APP = Path(__file__).with_name("dashboard_app.py")


@pytest.fixture
def open_page(program, analytics_library: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., AppTest]]:
    monkeypatch.setenv("REPAIRLAB_DATABASE_URL", program.store.url)
    monkeypatch.setenv("REPAIRLAB_SCENARIOS", str(analytics_library))
    from ui.context import get_services

    def clear() -> None:
        get_services.clear()
        st.cache_data.clear()
        st.cache_resource.clear()

    clear()

    def make(who: str, page: str = "dashboard") -> AppTest:
        viewer = program.viewer(who)
        app = AppTest.from_file(str(APP), default_timeout=60)
        app.query_params.update({"viewer": str(viewer.user_id), "role": viewer.role, "page": page})
        app.run()
        assert not app.exception, app.exception
        return app

    yield make
    clear()


def page_text(app: AppTest) -> str:
    parts = [e.value for e in app.markdown] + [e.value for e in app.caption] + [e.value for e in app.title]
    parts += [e.value for e in app.subheader] + [str(e.value) for e in app.info] + [str(e.value) for e in app.text]
    parts += [json.dumps(el.proto.spec) for el in app.get("plotly_chart")]
    return "\n".join(parts)


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_a_supervisor_sees_their_cohort_with_every_chart_and_its_alt_text(open_page) -> None:
    app = open_page("sup_a")

    assert metrics(app) == {"Trainees": "4", "Completed attempts": "6", "Responses": "12", "Mean score": "60 / 100",
                            "In progress": "1"}
    charts = app.get("plotly_chart")
    assert len(charts) == 5
    assert all(chart.proto.alt for chart in charts)
    captions = [c.value for c in app.caption]
    assert all(chart.proto.alt in captions for chart in charts)
    text = page_text(app)
    assert "Ada Alpha" in text and NAMES["b1"] not in text
    assert len(app.get("download_button")) >= 5 + 1 + 3  # each chart, the scenario table, three exports


def test_choosing_a_scenario_adds_the_heatmap_and_the_paths(open_page) -> None:
    app = open_page("sup_a")
    app.selectbox(key="dash_scenario").set_value(SCENARIO).run()

    assert not app.exception
    assert "One scenario: Two steps" in [s.value for s in app.subheader]
    assert len(app.get("plotly_chart")) == 7


def test_pseudonyms_replace_names_for_a_shared_screen(open_page) -> None:
    app = open_page("sup_a")
    app.toggle(key="dash_pseudonyms").set_value(True).run()

    text = page_text(app)
    assert "Ada Alpha" not in text and "Trainee " in text


def test_tables_under_the_charts_on_request(open_page) -> None:
    app = open_page("sup_a")
    before = len(app.dataframe)
    app.toggle(key="dash_tables").set_value(True).run()
    assert len(app.dataframe) == before + 5


def test_reflections_open_on_request_and_are_audited(open_page, program) -> None:
    app = open_page("sup_a")
    assert "I apologised too much." not in page_text(app)

    app.toggle(key="dash_reflections").set_value(True).run()
    assert "I apologised too much." in page_text(app)
    with program.store.read() as session:
        subjects = session.scalars(select(AuditEntry.subject_user_id).where(AuditEntry.action == "view_reflections"))
        assert list(subjects) == [program.users["a1"]]


def test_a_trainee_gets_no_dashboard(open_page) -> None:
    app = open_page("a1")

    assert not app.get("plotly_chart") and not app.metric
    assert "supervisors and administrators" in page_text(app)


def test_the_trainees_trend_page_shows_only_aggregates_of_others(open_page) -> None:
    app = open_page("a1", page="trend")

    charts = app.get("plotly_chart")
    assert len(charts) == 1
    text = page_text(app)
    assert "Cohort A" in text and "Cohort median (anonymous)" in text
    for key in ("a2", "a3", "b1"):
        assert NAMES[key] not in text


def test_clicking_a_point_selects_its_attempt() -> None:
    event = {"selection": {"points": [{"customdata": ["attempt-1", "Ada", 1]}, {"customdata": "attempt-2"},
                                      {"customdata": [None, "", 0]}, {"x": 1}]}}
    assert dashboard_view.attempt_ids(event) == ["attempt-1", "attempt-2"]
    assert dashboard_view.attempt_ids(None) == []
