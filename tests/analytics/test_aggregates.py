"""Dashboard aggregates equal the numbers worked out by hand from the fixture's attempts."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from engine import load_library
from repairlab.db.tables import Attempt, StepScore
from repairlab.services.access import actor
from repairlab.services.analytics import DELETED_LABEL, AnalyticsService, Filters, population

from .conftest import ATTEMPTS, SCENARIO, play

OWN, GROVEL, DENY = 100.0, 26.4, 17.08  # choice scores, rubric formula, 2 decimals


@pytest.fixture
def rubric(analytics_library):
    return load_library(analytics_library).rubric


@pytest.fixture(params=["auto", "window"])
def analytics(request, program) -> AnalyticsService:
    return AnalyticsService(program.store, method=request.param)


def score(rubric, choice_scores) -> float:
    return rubric.score(choice_scores)


def attempt_score(rubric, program, first: str, second: str) -> float:
    scenario = load_library(program.practice.catalog.root).scenarios[SCENARIO]
    a = next(c for c in scenario.nodes["first"].choices if c.id == first)
    b = next(c for c in scenario.nodes["second"].choices if c.id == second)
    return (rubric.score(a.scores) + rubric.score(b.scores)) / 2


def test_the_choice_scores_are_the_ones_written_in_the_fixture_notes(rubric) -> None:
    assert round(rubric.score({"accountability": 4, "self_focus": 0, "exploration": 4}), 2) == OWN
    assert round(rubric.score({"accountability": 3, "self_focus": 4, "exploration": 1}), 2) == GROVEL
    assert round(rubric.score({"accountability": 0, "self_focus": 1, "exploration": 0}), 2) == DENY


def test_the_cohort_median_per_month_counts_the_deleted_trainee_anonymously(program, analytics, rubric) -> None:
    board = analytics.dashboard(program.viewer("sup_a"), Filters())

    january = [attempt_score(rubric, program, f, s) for who, at, f, s, _ in ATTEMPTS if who in {"a1", "a2", "a4"}
               and at.month == 1]
    february = [attempt_score(rubric, program, f, s) for who, at, f, s, _ in ATTEMPTS
                if who in {"a1", "a2", "a3"} and at.month == 2]
    periods = board.cohort_periods.set_index("period")
    assert list(periods.index) == ["2025-01-01", "2025-02-01"]
    assert periods.loc["2025-01-01", "median_score"] == pytest.approx(statistics.median(january))
    assert periods.loc["2025-02-01", "median_score"] == pytest.approx(statistics.median(february))
    assert periods.loc["2025-01-01", "attempts"] == 3 and periods.loc["2025-01-01", "trainees"] == 3
    assert periods.loc["2025-02-01", "attempts"] == 3 and periods.loc["2025-02-01", "trainees"] == 3


def test_an_even_number_of_attempts_has_the_mean_of_the_two_middle_scores_as_median(program, analytics, rubric) -> None:
    board = analytics.dashboard(program.viewer("admin"), Filters(start=ATTEMPTS[0][1].date()))
    february = sorted(attempt_score(rubric, program, f, s) for _, at, f, s, _ in ATTEMPTS if at.month == 2)

    assert len(february) == 4
    row = board.cohort_periods.set_index("period").loc["2025-02-01"]
    assert row["median_score"] == pytest.approx((february[1] + february[2]) / 2)


def test_each_trainee_has_a_mean_per_period_and_the_deleted_one_no_line(program, analytics, rubric) -> None:
    board = analytics.dashboard(program.viewer("sup_a"), Filters())
    lines = board.trainee_periods

    assert DELETED_LABEL not in set(lines["trainee"])
    assert set(lines["trainee"]) == {"Ada Alpha", "Ben Beta", "Cy Gamma"}
    ada = lines[lines["trainee"] == "Ada Alpha"].set_index("period")
    assert ada.loc["2025-01-01", "mean_score"] == pytest.approx(attempt_score(rubric, program, "grovel", "deny"))
    assert ada.loc["2025-02-01", "mean_score"] == pytest.approx(OWN)
    latest = {(who, at.strftime("%Y-%m-01")): attempt for who, attempt, at, _, _ in program.attempts}
    assert ada.loc["2025-02-01", "attempt_id"] == latest[("a1", "2025-02-01")]


def test_growth_pairs_each_trainees_first_and_latest_attempt(program, analytics, rubric) -> None:
    growth = analytics.dashboard(program.viewer("sup_a"), Filters()).growth.set_index("trainee")

    assert set(growth.index) == {"Ada Alpha", "Ben Beta"}  # Cy has one attempt; Di was deleted
    ada = growth.loc["Ada Alpha"]
    assert ada["first_score"] == pytest.approx(attempt_score(rubric, program, "grovel", "deny"))
    assert ada["latest_score"] == pytest.approx(OWN)
    assert ada["change"] == pytest.approx(OWN - attempt_score(rubric, program, "grovel", "deny"))
    assert ada["attempts"] == 2 and ada["first_at"] == "2025-01-10" and ada["latest_at"] == "2025-02-05"
    ids = {(who, at.month): attempt for who, attempt, at, _, _ in program.attempts}
    assert ada["first_attempt"] == ids[("a1", 1)] and ada["latest_attempt"] == ids[("a1", 2)]


def test_zones_per_month_count_every_response_of_the_cohort(program, analytics, rubric) -> None:
    zones = analytics.dashboard(program.viewer("sup_a"), Filters()).zone_periods
    scenario = load_library(program.practice.catalog.root).scenarios[SCENARIO]
    zone = {(node, c.id): rubric.zone_of(c.scores) for node in ("first", "second")
            for c in scenario.nodes[node].choices}
    expected: dict[tuple[str, str], int] = {}
    for who, at, first, second, _ in ATTEMPTS:
        if who in {"a1", "a2", "a3", "a4"}:
            for key in (zone[("first", first)], zone[("second", second)]):
                expected[(at.strftime("%Y-%m-01"), key)] = expected.get((at.strftime("%Y-%m-01"), key), 0) + 1

    got = {(r.period, r.zone): r.responses for r in zones.itertuples()}
    assert got == expected


def test_dimension_means_equal_a_direct_average_of_the_stored_step_scores(program, analytics) -> None:
    board = analytics.dashboard(program.viewer("sup_a"), Filters())
    with program.store.read() as session:
        who = actor(session, program.viewer("sup_a"))
        direct = dict(
            session.execute(
                select(StepScore.dimension, func.avg(StepScore.value))
                .join(Attempt, Attempt.id == StepScore.attempt_id)
                .where(*population(who, Filters()))
                .group_by(StepScore.dimension)
            ).all()
        )
    means = board.dimensions.set_index("dimension")["mean"].to_dict()
    assert means == pytest.approx({k: float(v) for k, v in direct.items()})
    # By hand: cohort A's 12 responses are own x6 (accountability 4), grovel x2 (3) and deny x4 (0)
    assert means["accountability"] == pytest.approx((6 * 4 + 2 * 3) / 12)


def test_choice_heatmap_and_strategies_for_one_scenario(program, analytics) -> None:
    board = analytics.dashboard(program.viewer("sup_a"), Filters(scenario_id=SCENARIO))
    first = board.choices[board.choices["node"] == "first"].set_index("choice")

    assert first.loc["own", "picks"] == 3 and first.loc["grovel", "picks"] == 2 and first.loc["deny", "picks"] == 1
    assert first.loc["own", "share"] == pytest.approx(0.5)
    assert bool(first.loc["own", "best"]) and not bool(first.loc["deny", "best"])
    assert list(first["position"]) == [1, 2, 3]
    strategies = board.strategies.set_index("strategy")["choices"].to_dict()
    # acknowledge: own@first x3 + grovel x2; invite-exploration: own@first x3 + own@second x3; redirect: deny x4
    assert strategies["acknowledge"] == 5
    assert strategies["invite-exploration"] == 6
    assert strategies["redirect"] == 2 + 1 + 1


def test_the_sankey_counts_node_transitions_and_endings(program, analytics) -> None:
    links = analytics.dashboard(program.viewer("sup_a"), Filters(scenario_id=SCENARIO)).transitions
    counts = {(r.source, r.target): r.attempts for r in links.itertuples()}

    assert counts[("first", "second")] == 6
    assert counts[("second", "ending:repaired")] == 3  # a1 Feb, a2 Feb, a4
    assert counts[("second", "ending:unrepaired")] == 3
    first = links[(links["source"] == "first")].iloc[0]
    assert "own 3" in first["choices"] and "grovel 2" in first["choices"]


def test_summary_counts_and_filters(program, analytics) -> None:
    board = analytics.dashboard(program.viewer("sup_a"), Filters())
    assert board.summary["trainees"] == 4 and board.summary["attempts"] == 6 and board.summary["choices"] == 12
    assert board.summary["in_progress"] == 1

    january = analytics.dashboard(program.viewer("sup_a"), Filters(end=ATTEMPTS[2][1].date()))
    assert january.summary["attempts"] == 3

    only_b = analytics.dashboard(program.viewer("admin"), Filters(cohort_id=program.cohorts["B"]))
    assert only_b.summary["attempts"] == 2 and only_b.summary["trainees"] == 1


def test_weeks_start_on_monday_on_both_backends(program, analytics) -> None:
    board = analytics.dashboard(program.viewer("sup_b"), Filters(grain="week"))
    # 2025-01-12 is a Sunday (week of Monday 6 January); 2025-02-20 a Thursday (week of 17 February)
    assert list(board.cohort_periods["period"]) == ["2025-01-06", "2025-02-17"]


def test_both_methods_give_the_same_dashboard(program) -> None:
    auto = AnalyticsService(program.store, method="auto").dashboard(program.viewer("admin"), Filters())
    window = AnalyticsService(program.store, method="window").dashboard(program.viewer("admin"), Filters())

    for name in ("cohort_periods", "growth"):
        left, right = getattr(auto, name), getattr(window, name)
        assert left.round(9).to_dict("records") == right.round(9).to_dict("records"), name
    key = ["trainee_key", "period"]
    assert (
        auto.trainee_periods.sort_values(key).round(9).to_dict("records")
        == window.trainee_periods.sort_values(key).round(9).to_dict("records")
    )


def test_the_trainee_trend_shows_own_means_and_only_sufficiently_large_medians(program, analytics, rubric) -> None:
    trend = analytics.trainee_trend(program.viewer("a1"))

    own = trend.own.set_index("period")["mean_score"].to_dict()
    assert own == pytest.approx({"2025-01-01": attempt_score(rubric, program, "grovel", "deny"), "2025-02-01": OWN})
    assert trend.cohorts == ["Cohort A"]
    assert list(trend.cohort["trainees"]) == [3, 3]  # b1 is in another cohort
    assert list(trend.cohort.columns) == ["period", "median_score", "attempts", "trainees"]

    lonely = analytics.trainee_trend(program.viewer("b1"))
    assert lonely.cohort.empty  # one trainee: a median would be their own score


def test_each_response_is_read_in_the_scenario_version_it_was_played_on(program, analytics_library) -> None:
    edited = (analytics_library / f"{SCENARIO}.yaml").read_text(encoding="utf-8").replace(
        "strategies: [acknowledge]\n", "strategies: [acknowledge, disclose-experience]\n"
    )
    (analytics_library / f"{SCENARIO}.yaml").write_text(edited, encoding="utf-8")
    play(program.practice, program.users["a3"], ["grovel", "own"], datetime(2025, 3, 3, 10, tzinfo=UTC))

    board = AnalyticsService(program.store).dashboard(program.viewer("sup_a"), Filters(scenario_id=SCENARIO))
    strategies = board.strategies.set_index("strategy")["choices"].to_dict()
    assert strategies["disclose-experience"] == 1  # only the new version's grovel carries it
    assert strategies["acknowledge"] == 5 + 1
    first = board.choices[board.choices["node"] == "first"].set_index("choice")
    assert first.loc["grovel", "picks"] == 3 and int(first["picks"].sum()) == 7
