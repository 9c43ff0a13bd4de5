"""The per-attempt summaries behind the dashboard (`analytics_summary`), on both backends.

* every aggregate drawn from the summaries equals the same aggregate computed straight from
  ``attempts`` and ``attempt_steps`` (the step-by-step joins the dashboard no longer runs), on a
  generated program with learning curves, several scenarios and versions;
* the summaries follow the data: a new attempt appears after the next refresh, practice moved to
  another account (claimed guest practice) is re-attributed, a removed attempt disappears, and a
  trainee whose personal data is deleted keeps counting anonymously;
* refreshes running at the same time (threads, separate stores as separate processes would have)
  never fail or double count;
* the precomputed periods are exactly what `analytics_sql.period` computes in SQL.
"""

from __future__ import annotations

import statistics
import threading
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update

from repairlab.db import Store
from repairlab.db.migrate import downgrade, upgrade
from repairlab.db.tables import Attempt, AttemptStep, CohortMember, User
from repairlab.db.tables_analytics import AttemptSummary, PathStep, ZoneCount
from repairlab.demo import generate
from repairlab.services import analytics_summary
from repairlab.services.access import Viewer, actor
from repairlab.services.analytics import DELETED_LABEL, AnalyticsService, Filters, population
from repairlab.services.analytics_sql import period
from repairlab.services.analytics_summary import (
    DICTIONARIES,
    AnalyticsSummary,
    SummaryCollision,
    month_of,
    week_of,
)
from repairlab.services.privacy import PrivacyService

from .conftest import SCENARIO, play

DEMO = {"cohorts": 2, "trainees": 5, "attempts": 9, "seed": 5, "end": date(2025, 6, 30)}


def summary_rows(store: Store) -> dict[str, tuple]:
    with store.read() as session:
        return {
            row.attempt_id: (row.user_id, row.scenario_id, row.content_hash, row.month, row.week, row.score, row.ending)
            for row in session.execute(select(AttemptSummary))
            .scalars()
            .all()
        }


# -- the summaries give the same numbers as the raw tables -------------------------------------------


@pytest.fixture
def demo(store: Store) -> Store:
    generate(store.url, **DEMO)
    return store


def admin_viewer(store: Store) -> Viewer:
    with store.read() as session:
        return Viewer(session.scalar(select(User.id).where(User.role == "admin").order_by(User.id).limit(1)), "admin")


def raw_aggregates(store: Store, viewer: Viewer, filters: Filters) -> dict:
    """The dashboard's step-level and attempt-level numbers, straight from attempts and steps."""
    with store.read() as session:
        who = actor(session, viewer)
        where = population(who, filters)
        p = period(Attempt.completed_at, filters.grain, "sqlite" if store.is_sqlite else "postgresql")
        choices = Counter(
            {
                (h, node, choice): n
                for h, node, choice, n in session.execute(
                    select(Attempt.content_hash, AttemptStep.node_id, AttemptStep.choice_id, func.count())
                    .join(Attempt, Attempt.id == AttemptStep.attempt_id)
                    .where(*where, AttemptStep.choice_id.is_not(None))
                    .group_by(Attempt.content_hash, AttemptStep.node_id, AttemptStep.choice_id)
                )
            }
        )
        zones = {
            (per, zone or "unknown"): n
            for per, zone, n in session.execute(
                select(p, AttemptStep.zone, func.count())
                .join(Attempt, Attempt.id == AttemptStep.attempt_id)
                .where(*where, AttemptStep.choice_id.is_not(None))
                .group_by(p, AttemptStep.zone)
            )
        }
        attempts = session.execute(
            select(Attempt.id, Attempt.user_id, p, Attempt.score, Attempt.completed_at, Attempt.scenario_id).where(*where)
        ).all()
        steps = session.execute(
            select(AttemptStep.attempt_id, AttemptStep.node_id, AttemptStep.choice_id, Attempt.ending)
            .join(Attempt, Attempt.id == AttemptStep.attempt_id)
            .where(*where)
            .order_by(AttemptStep.attempt_id, AttemptStep.step_no)
        ).all()
    per_period: dict[str, list[float]] = defaultdict(list)
    for _, _, per, score, _, _ in attempts:
        per_period[per].append(score)
    transitions: Counter = Counter()
    for index, (attempt_id, node, choice, ending) in enumerate(steps):
        following = steps[index + 1] if index + 1 < len(steps) else None
        target = following.node_id if following is not None and following.attempt_id == attempt_id else None
        transitions[(node, target if target is not None else f"ending:{ending}", choice)] += 1
    return {
        "choices": choices,
        "zones": zones,
        "medians": {per: statistics.median(scores) for per, scores in per_period.items()},
        "attempts": attempts,
        "transitions": transitions,
    }


@pytest.mark.parametrize("grain", ["month", "week"])
def test_the_dashboard_from_summaries_equals_the_raw_tables(demo: Store, grain: str) -> None:
    viewer = admin_viewer(demo)
    filters = Filters(grain=grain)
    service = AnalyticsService(demo)
    board = service.dashboard(viewer, filters)
    raw = raw_aggregates(demo, viewer, filters)

    with demo.read() as session:
        grouped = service._choice_groups(session, [])
    assert Counter({(h, node, choice): n for h, node, choice, n in grouped}) == raw["choices"]
    assert board.summary["choices"] == sum(raw["choices"].values())
    assert {(r.period, r.zone): r.responses for r in board.zone_periods.itertuples()} == raw["zones"]
    medians = board.cohort_periods.set_index("period")["median_score"].to_dict()
    assert medians == pytest.approx(raw["medians"])
    assert board.summary["attempts"] == len(raw["attempts"])
    # each trainee's mean per period, and the latest attempt of the period
    by_key: dict[tuple, list] = defaultdict(list)
    for attempt_id, user_id, per, score, at, _ in raw["attempts"]:
        by_key[(f"t{user_id}", per)].append((at, attempt_id, score))
    lines = board.trainee_periods.set_index(["trainee_key", "period"])
    assert len(lines) == len(by_key)
    for key, rows in by_key.items():
        assert lines.loc[key, "mean_score"] == pytest.approx(statistics.fmean(r[2] for r in rows))
        assert lines.loc[key, "attempt_id"] == max(rows)[1]
    # first and latest attempt of each trainee
    per_user: dict[str, list] = defaultdict(list)
    for attempt_id, user_id, _, score, at, _ in raw["attempts"]:
        per_user[f"t{user_id}"].append((at, attempt_id, score))
    growth = board.growth.set_index("trainee_key")
    assert set(growth.index) == {k for k, rows in per_user.items() if len(rows) >= 2}
    for key, rows in per_user.items():
        if len(rows) >= 2:
            assert (growth.loc[key, "first_attempt"], growth.loc[key, "latest_attempt"]) == (min(rows)[1], max(rows)[1])
            assert growth.loc[key, "change"] == pytest.approx(max(rows)[2] - min(rows)[2])


def test_one_scenarios_paths_and_responses_equal_the_raw_steps(demo: Store) -> None:
    viewer = admin_viewer(demo)
    with demo.read() as session:
        scenario = session.scalar(
            select(Attempt.scenario_id).group_by(Attempt.scenario_id).order_by(func.count().desc(), Attempt.scenario_id)
        )
    filters = Filters(scenario_id=scenario)
    board = AnalyticsService(demo).dashboard(viewer, filters)
    raw = raw_aggregates(demo, viewer, filters)

    links: Counter = Counter()
    for (source, target, _), n in raw["transitions"].items():
        links[(source, target)] += n
    assert {(r.source, r.target): r.attempts for r in board.transitions.itertuples()} == dict(links)
    picks: Counter = Counter()
    for (_, node, choice), n in raw["choices"].items():
        picks[(node, choice)] += n
    assert {(r.node, r.choice): r.picks for r in board.choices.itertuples() if r.picks} == dict(picks)


def test_a_cohort_and_a_date_range_are_filtered_like_the_raw_tables(demo: Store) -> None:
    viewer = admin_viewer(demo)
    with demo.read() as session:
        cohort_id = session.scalar(select(CohortMember.cohort_id).order_by(CohortMember.cohort_id.desc()).limit(1))
    filters = Filters(cohort_id=cohort_id, start=date(2025, 2, 1), end=date(2025, 4, 30))
    board = AnalyticsService(demo).dashboard(viewer, filters)
    raw = raw_aggregates(demo, viewer, filters)

    assert board.summary["attempts"] == len(raw["attempts"]) > 0
    assert {(r.period, r.zone): r.responses for r in board.zone_periods.itertuples()} == raw["zones"]
    assert board.summary["choices"] == sum(raw["choices"].values())


# -- following the data --------------------------------------------------------------------------------


def test_a_new_attempt_appears_after_the_refresh(program) -> None:
    service = AnalyticsService(program.store)
    before = service.dashboard(program.viewer("sup_a"), Filters())
    summarised = len(summary_rows(program.store))

    play(program.practice, program.users["a3"], ["grovel", "own"], datetime(2025, 3, 3, 10, tzinfo=UTC))
    after = service.dashboard(program.viewer("sup_a"), Filters())

    assert after.summary["attempts"] == before.summary["attempts"] + 1
    assert after.summary["choices"] == before.summary["choices"] + 2
    assert list(after.cohort_periods["period"])[-1] == "2025-03-01"
    assert len(summary_rows(program.store)) == summarised + 1
    assert service.summary.state().in_sync


def test_an_unchanged_data_version_skips_even_the_sync_check(program, monkeypatch) -> None:
    service = AnalyticsService(program.store)
    service.dashboard(program.viewer("admin"), Filters())
    monkeypatch.setattr(AnalyticsSummary, "state", lambda *_: pytest.fail("checked again"))

    service.dashboard(program.viewer("admin"), Filters(grain="week"))  # same data, other filters


def test_the_first_refresh_summarises_a_large_backlog_in_short_batches(program) -> None:
    summary = AnalyticsSummary(program.store, batch=2)
    summary.rebuild()
    expected = len(summary_rows(program.store))
    with program.store.write() as session:
        session.execute(delete(AttemptSummary))

    assert summary.refresh() == expected
    assert summary.state().in_sync and len(summary_rows(program.store)) == expected


def test_practice_moved_to_another_account_is_reattributed(program) -> None:
    service = AnalyticsService(program.store)
    service.dashboard(program.viewer("sup_a"), Filters())
    guest, a1 = program.users["guest"], program.users["a1"]
    with program.store.write() as session:  # what claiming a guest's practice does to attempts
        session.execute(update(Attempt).where(Attempt.user_id == guest).values(user_id=a1))

    service.summary.refresh()
    board = service.dashboard(program.viewer("sup_a"), Filters())

    owners = {user for user, *_ in summary_rows(program.store).values()}
    assert guest not in owners
    assert board.summary["attempts"] == 6 + 1  # the guest's attempt now counts as Ada's
    assert service.summary.state().in_sync


def test_a_removed_attempt_leaves_the_summaries(program) -> None:
    summary = AnalyticsSummary(program.store)
    summary.refresh()
    gone = program.attempts[0][1]
    with program.store.write() as session:
        session.execute(delete(AttemptStep).where(AttemptStep.attempt_id == gone))
        session.execute(text("DELETE FROM step_scores WHERE attempt_id = :a"), {"a": gone})
        session.execute(delete(Attempt).where(Attempt.id == gone))

    summary.refresh()
    assert gone not in summary_rows(program.store) and summary.state().in_sync


def test_a_trainee_deleted_after_being_summarised_still_counts_anonymously(program) -> None:
    service = AnalyticsService(program.store)
    before = service.dashboard(program.viewer("sup_a"), Filters())
    PrivacyService(program.store).delete_personal_data(program.viewer("admin"), program.users["a1"])

    after = service.dashboard(program.viewer("sup_a"), Filters())
    assert after.summary == before.summary
    assert after.zone_periods.equals(before.zone_periods) and after.cohort_periods.equals(before.cohort_periods)
    assert "Ada Alpha" not in set(after.trainee_periods["trainee"]) | set(after.growth["trainee"])
    assert DELETED_LABEL not in set(after.trainee_periods["trainee"])


# -- refreshing at the same time ---------------------------------------------------------------------


def test_concurrent_refreshes_never_fail_nor_double_count(program) -> None:
    expected = {a for _, a, *_ in program.attempts} | set()
    stores = [Store(program.store.url) for _ in range(4)]  # as separate app processes would have
    try:
        with program.store.write() as session:
            for table in (AttemptSummary, PathStep, ZoneCount):
                session.execute(delete(table))
        start = threading.Barrier(len(stores))
        errors: list[BaseException] = []
        added: list[int] = []

        def refresh(store: Store) -> None:
            try:
                start.wait(timeout=30)
                added.append(AnalyticsSummary(store, batch=1).refresh())
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=refresh, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for store in stores:
            store.dispose()

    assert not errors, errors
    rows = summary_rows(program.store)
    assert expected <= set(rows)
    assert sum(added) == len(rows)  # each attempt summarised exactly once
    with program.store.read() as session:
        duplicates = session.execute(
            select(PathStep.path_id, PathStep.seq).group_by(PathStep.path_id, PathStep.seq).having(func.count() > 1)
        ).all()
    assert not duplicates
    assert AnalyticsSummary(program.store).state().in_sync


def test_a_hash_collision_is_refused_not_merged(program, monkeypatch) -> None:
    monkeypatch.setattr(analytics_summary, "key_of", lambda text_: 42)
    try:
        with pytest.raises(SummaryCollision):
            AnalyticsSummary(program.store).rebuild()
    finally:
        DICTIONARIES.clear()


# -- the schema and the periods ------------------------------------------------------------------------


def test_the_migration_goes_down_and_up_again(program) -> None:
    AnalyticsSummary(program.store).refresh()
    downgrade(program.store, "0004")
    with program.store.read() as session:
        assert session.execute(text("SELECT count(*) FROM attempts")).scalar() == len(program.attempts) + 2
    upgrade(program.store)
    assert AnalyticsSummary(program.store).refresh() == len(program.attempts) + 1  # + the guest's


MOMENTS = [
    datetime(2025, 1, 5, 23, 59, 59, tzinfo=UTC),  # a Sunday
    datetime(2025, 1, 6, 0, 0, tzinfo=UTC),  # the Monday after
    datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2025, 3, 1, 0, 0, tzinfo=UTC),
    datetime(2024, 2, 29, 12, 0, tzinfo=UTC),
]


def test_the_precomputed_periods_are_what_sql_computes(program) -> None:
    ids = [attempt_id for _, attempt_id, *_ in program.attempts]
    with program.store.write() as session:
        for attempt_id, moment in zip(ids, MOMENTS, strict=False):
            session.execute(update(Attempt).where(Attempt.id == attempt_id).values(completed_at=moment))
    dialect = "sqlite" if program.store.is_sqlite else "postgresql"
    with program.store.read() as session:
        rows = session.execute(
            select(
                Attempt.completed_at,
                period(Attempt.completed_at, "month", dialect),
                period(Attempt.completed_at, "week", dialect),
            ).where(Attempt.id.in_(ids))
        ).all()
    assert len(rows) == len(ids)
    for moment, month, week in rows:
        assert (month_of(moment), week_of(moment)) == (month, week)
    assert week_of(MOMENTS[0]) == "2024-12-30" and week_of(MOMENTS[1]) == "2025-01-06"
    assert week_of(MOMENTS[1] - timedelta(microseconds=1)) == "2024-12-30"


def test_the_fixture_program_is_summarised_once_per_completed_attempt(program) -> None:
    AnalyticsSummary(program.store).refresh()
    rows = summary_rows(program.store)
    assert set(rows) == {a for _, a, *_ in program.attempts} | {_guest_attempt(program)}
    assert all(scenario == SCENARIO for _, scenario, *_ in rows.values())


def _guest_attempt(program) -> str:  # type: ignore[no-untyped-def]
    with program.store.read() as session:
        return session.scalar(select(Attempt.id).where(Attempt.user_id == program.users["guest"]))


def test_practice_outside_any_cohort_stays_out_of_the_whole_program(program) -> None:
    board = AnalyticsService(program.store).dashboard(program.viewer("admin"), Filters())
    assert board.summary["attempts"] == len(program.attempts)  # not the guest's, who is in no cohort


def test_new_practice_is_found_among_recent_updates_and_backdated_rows_by_a_full_comparison(program, monkeypatch) -> None:
    summary = AnalyticsSummary(program.store)
    summary.refresh()
    looked: list = []
    original = AnalyticsSummary._missing

    def missing(self, session, since=None):  # type: ignore[no-untyped-def]
        looked.append(since)
        return original(self, session, since)

    monkeypatch.setattr(AnalyticsSummary, "_missing", missing)
    state = program.practice.start(program.users["a2"], SCENARIO, "assessment")
    for step, choice in enumerate(["own", "own"]):
        program.practice.choose(state.id, step, choice, program.users["a2"])
    assert summary.refresh() == 1
    assert looked and all(since is not None for since in looked)  # only the recent attempts were read

    looked.clear()
    play(program.practice, program.users["a2"], ["deny", "own"], datetime(2020, 1, 1, tzinfo=UTC))  # backdated
    assert summary.refresh() == 1
    assert None in looked and summary.state().in_sync
