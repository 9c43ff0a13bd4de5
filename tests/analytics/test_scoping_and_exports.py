"""Who sees what in every aggregate and export, and what the CSV files hold."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from repairlab.db.tables import AuditEntry
from repairlab.services.analytics import AnalyticsService, Filters
from repairlab.services.errors import Forbidden, NotFound
from repairlab.services.exports import CHOICE_COLUMNS_BASE, EXPORT_ANALYTICS, ExportService, safe_cell

from .conftest import NAMES, SCENARIO

DIMENSIONS = ["accountability", "exploration", "self_focus"]


def read_csv(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def everything_text(board) -> str:  # type: ignore[no-untyped-def]
    frames = [board.trainee_periods, board.cohort_periods, board.growth, board.zone_periods, board.dimensions,
              board.choices, board.transitions, board.strategies, board.scenarios]
    return "\n".join(frame.to_csv() for frame in frames)


def audit_rows(program, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with program.store.read() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# -- aggregates --------------------------------------------------------------------------------


def test_a_supervisor_of_cohort_b_sees_nothing_of_cohort_a_in_any_aggregate(program) -> None:
    analytics = AnalyticsService(program.store)
    for filters in (Filters(), Filters(scenario_id=SCENARIO), Filters(grain="week")):
        board = analytics.dashboard(program.viewer("sup_b"), filters)
        text = everything_text(board)
        assert board.summary["trainees"] == 1 and board.summary["attempts"] == 2
        for key in ("a1", "a2", "a3", "a4"):
            assert NAMES[key] not in text
        assert set(board.trainee_periods["trainee"]) == {"Bo Bravo"}
        if filters.scenario_id:
            assert int(board.choices["picks"].sum()) == 4  # b1's 2 attempts x 2 decisions
            assert int(board.transitions[board.transitions["source"] == "first"]["attempts"].sum()) == 2


def test_asking_for_another_supervisors_cohort_is_not_found(program) -> None:
    analytics = AnalyticsService(program.store)
    with pytest.raises(NotFound):
        analytics.dashboard(program.viewer("sup_b"), Filters(cohort_id=program.cohorts["A"]))
    with pytest.raises(NotFound):
        analytics.reflections(program.viewer("sup_b"), Filters(cohort_id=program.cohorts["A"]))
    with pytest.raises(NotFound):
        list(ExportService(program.store).choice_rows(program.viewer("sup_b"), Filters(cohort_id=program.cohorts["A"])))


def test_the_filters_offer_only_the_viewers_cohorts_and_scenarios(program) -> None:
    analytics = AnalyticsService(program.store)
    assert [c.name for c in analytics.cohorts(program.viewer("sup_b"))] == ["Cohort B"]
    assert {c.name for c in analytics.cohorts(program.viewer("admin"))} == {"Cohort A", "Cohort B"}
    assert analytics.scenarios(program.viewer("sup_b")) == [(SCENARIO, "Two steps")]


def test_trainees_get_no_dashboard_and_their_trend_holds_only_aggregates_of_others(program) -> None:
    analytics = AnalyticsService(program.store)
    with pytest.raises(Forbidden):
        analytics.dashboard(program.viewer("a1"), Filters())
    trend = analytics.trainee_trend(program.viewer("a1"))
    own_ids = {attempt for who, attempt, *_ in program.attempts if who == "a1"}

    assert set(trend.own["attempt_id"]) <= own_ids
    assert list(trend.cohort.columns) == ["period", "median_score", "attempts", "trainees"]
    text = trend.own.to_csv() + trend.cohort.to_csv()
    for key in ("a2", "a3", "a4", "b1"):
        assert NAMES[key] not in text
    others = {attempt for who, attempt, *_ in program.attempts if who != "a1"}
    assert not any(attempt in text for attempt in others)


def test_a_disabled_or_deleted_viewer_is_refused(program) -> None:
    with pytest.raises(Forbidden):
        AnalyticsService(program.store).trainee_trend(program.viewer("a4"))


def test_reflections_are_for_supervisors_with_real_names_and_each_look_is_audited(program) -> None:
    analytics = AnalyticsService(program.store)
    found = analytics.reflections(program.viewer("sup_a"), Filters())

    assert {(r.trainee, r.text) for r in found} == {
        ("Ada Alpha", "I apologised too much."),
        ("Ada Alpha", "Ownership first worked."),
    }  # a4's reflection was erased with their personal data; b1 is another cohort's
    audited = audit_rows(program, "view_reflections")
    assert [(e.actor_id, e.subject_user_id) for e in audited] == [(program.users["sup_a"], program.users["a1"])]
    with pytest.raises(Forbidden):
        analytics.reflections(program.viewer("admin"), Filters())


# -- CSV ------------------------------------------------------------------------------------------


def test_the_choice_csv_has_the_documented_columns_and_one_row_per_choice(program) -> None:
    rows = read_csv(ExportService(program.store).choice_csv(program.viewer("sup_a"), Filters()))

    assert list(rows[0]) == (
        CHOICE_COLUMNS_BASE + [f"score_{d}" for d in DIMENSIONS] + ["choice_score", "best_score", "zone", "timestamp"]
    )
    assert len(rows) == 12  # cohort A: 6 completed attempts x 2 decisions
    own = next(r for r in rows if r["trainee_name"] == "Ada Alpha" and r["choice"] == "own" and r["node"] == "first")
    assert own["cohort"] == "Cohort A" and own["trainee_id"] == "a1" and own["scenario_id"] == SCENARIO
    assert own["score_accountability"] == "4" and own["score_self_focus"] == "0" and own["choice_score"] == "100.00"
    assert own["zone"] == "balanced" and own["strategies"] == "acknowledge;invite-exploration"
    assert own["timestamp"] == "2025-02-05T10:00:00+00:00" and len(own["scenario_version"]) == 64
    deleted = [r for r in rows if r["trainee_id"] == "deleted"]
    assert len(deleted) == 2 and {r["trainee_name"] for r in deleted} == {""}


def test_pseudonymous_exports_hold_no_names_or_usernames(program) -> None:
    exports = ExportService(program.store)
    data = exports.choice_csv(program.viewer("sup_a"), Filters(), pseudonymous=True)
    data += exports.attempt_csv(program.viewer("sup_a"), Filters(), pseudonymous=True)
    text = data.decode("utf-8-sig")

    for key, name in NAMES.items():
        assert name not in text and f",{key}," not in text
    rows = read_csv(exports.attempt_csv(program.viewer("sup_a"), Filters(), pseudonymous=True))
    assert {r["trainee_name"] for r in rows} == {""}
    assert all(r["trainee_id"].startswith("Trainee ") or r["trainee_id"] == "deleted" for r in rows)


def test_the_attempt_csv_has_one_row_per_attempt_with_dimension_means(program) -> None:
    rows = read_csv(ExportService(program.store).attempt_csv(program.viewer("sup_b"), Filters()))

    assert [r["trainee_name"] for r in rows] == ["Bo Bravo", "Bo Bravo"]
    first = rows[0]
    assert first["completed_at"] == "2025-01-12T10:00:00+00:00" and first["choices"] == "2"
    assert first["mean_accountability"] == "2.000"  # deny (0) then own (4)
    assert first["ending"] == "repaired" and first["has_reflection"] == "yes"
    assert list(first)[-4:] == ["mean_accountability", "mean_exploration", "mean_self_focus", "has_reflection"]


def test_a_trainee_exports_only_their_own_attempts(program) -> None:
    exports = ExportService(program.store)
    rows = read_csv(exports.attempt_csv(program.viewer("a2"), Filters()))

    assert {r["trainee_name"] for r in rows} == {"Ben Beta"} and len(rows) == 2
    with pytest.raises(NotFound):
        exports.attempt_csv(program.viewer("a2"), Filters(cohort_id=program.cohorts["A"]))
    assert audit_rows(program, EXPORT_ANALYTICS) == []  # one's own records: nothing to account for


def test_every_export_of_other_peoples_records_is_audited_per_trainee(program) -> None:
    ExportService(program.store).choice_csv(program.viewer("sup_a"), Filters())
    entries = audit_rows(program, EXPORT_ANALYTICS)

    assert sorted(e.subject_user_id for e in entries) == sorted(program.users[k] for k in ("a1", "a2", "a3"))
    assert all(e.actor_id == program.users["sup_a"] for e in entries)
    assert json.loads(entries[0].detail)["rows"] == "choices"


def test_the_export_is_generated_lazily_in_chunks(program) -> None:
    exports = ExportService(program.store)
    chunks = exports.choice_csv_chunks(program.viewer("admin"), Filters())
    assert audit_rows(program, EXPORT_ANALYTICS) == []  # nothing read or audited until consumed
    text = "".join(chunks)
    assert text.count("\n") == 1 + 16  # header + (6 + 2) attempts x 2 decisions


def test_text_typed_by_people_cannot_become_a_spreadsheet_formula() -> None:
    assert safe_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)" and safe_cell("-1+2") == "'-1+2"
    assert safe_cell("Ada") == "Ada"
