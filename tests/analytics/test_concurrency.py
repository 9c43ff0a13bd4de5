"""The dashboard's queries run side by side on PostgreSQL and must see exactly what one transaction sees."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select

from repairlab.db.tables import User
from repairlab.services import analytics as analytics_module
from repairlab.services.analytics import AnalyticsService, Concurrent, Dashboard, Filters

from .conftest import ATTEMPTS, SCENARIO

FRAMES = (
    "trainee_periods", "cohort_periods", "growth", "zone_periods", "dimensions", "choices", "transitions",
    "strategies", "scenarios",
)


def same_dashboard(left: Dashboard, right: Dashboard) -> None:
    assert left.summary == right.summary
    assert (left.zones, left.scenario_title, left.pseudonymous) == (right.zones, right.scenario_title, right.pseudonymous)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name), obj=name)


@pytest.mark.parametrize("grain", ["month", "week"])
def test_the_queries_run_side_by_side_give_the_same_dashboard_as_one_after_another(program, monkeypatch, grain) -> None:
    service = AnalyticsService(program.store)
    cases = [
        ("admin", Filters(grain=grain)),
        ("admin", Filters(scenario_id=SCENARIO, grain=grain)),
        ("admin", Filters(cohort_id=program.cohorts["B"], grain=grain)),
        ("sup_a", Filters(grain=grain)),
        ("sup_a", Filters(scenario_id=SCENARIO, end=ATTEMPTS[2][1].date(), grain=grain)),
    ]
    for who, filters in cases:
        monkeypatch.setattr(analytics_module, "PARALLEL_FROM", 10**9)  # one after another
        alone = service.dashboard(program.viewer(who), filters, pseudonymous=True)
        monkeypatch.setattr(analytics_module, "PARALLEL_FROM", 0)  # side by side (PostgreSQL)
        side_by_side = service.dashboard(program.viewer(who), filters, pseudonymous=True)
        same_dashboard(alone, side_by_side)
        assert side_by_side.summary["attempts"] > 0, (who, filters)


def test_the_workers_see_the_snapshot_of_the_main_transaction(program) -> None:
    store = program.store
    service = AnalyticsService(store)
    count = select(func.count()).select_from(User)
    checked_out = store.read_engine.pool.checkedout()
    with store.read() as session, Concurrent(service, session) as queries:
        queries.parallel()
        before = session.scalar(count)
        with store.write() as other:  # committed while the dashboard's queries run
            other.add(User(public_id="pub-late", display_name="Late Comer", role="trainee", username="late"))
        seen = [queries.submit(lambda s: s.scalar(count)) for _ in range(6)]
        assert [future.result() for future in seen] == [before] * 6
        assert session.scalar(count) == before
    with store.read() as session:
        assert session.scalar(count) == before + 1
    assert store.read_engine.pool.checkedout() == checked_out  # every worker's connection went back


def test_a_failing_query_on_a_worker_fails_the_dashboard_and_returns_its_connection(program) -> None:
    store = program.store
    service = AnalyticsService(store)
    checked_out = store.read_engine.pool.checkedout()

    def broken(session):  # type: ignore[no-untyped-def]
        raise RuntimeError("the query failed")

    with pytest.raises(RuntimeError, match="the query failed"), store.read() as session, \
            Concurrent(service, session) as queries:
        queries.parallel()
        queries.submit(broken).result()
    assert store.read_engine.pool.checkedout() == checked_out
