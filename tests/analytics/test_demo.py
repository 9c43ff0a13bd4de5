"""The demo program generator: deterministic, real play-throughs, a visible learning curve."""

from __future__ import annotations

import statistics
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import Playthrough, from_snapshot
from repairlab.db import Store
from repairlab.db.tables import (
    Attempt,
    AttemptStep,
    Cohort,
    CohortMember,
    ScenarioVersion,
    StepScore,
    User,
    as_utc,
)
from repairlab.demo import generate, main

SMALL = {"cohorts": 2, "trainees": 4, "attempts": 8, "seed": 11, "end": date(2025, 6, 30)}


def dump(url: str) -> dict[str, list[tuple]]:
    """Every generated row, in a backend-neutral form (UTC datetimes, sorted)."""
    store = Store(url)
    tables = {
        "users": User, "cohorts": Cohort, "cohort_members": CohortMember, "attempts": Attempt,
        "attempt_steps": AttemptStep, "step_scores": StepScore,
    }
    out: dict[str, list[tuple]] = {}
    try:
        with store.read() as session:
            for name, table in tables.items():
                columns = [c for c in table.__table__.columns]
                rows = session.execute(select(*columns)).all()
                out[name] = sorted(tuple(_plain(v) for v in row) for row in rows)
            out["versions"] = sorted(session.execute(select(ScenarioVersion.content_hash, ScenarioVersion.scenario_id)).all())
    finally:
        store.dispose()
    return out


def _plain(value):  # type: ignore[no-untyped-def]
    if hasattr(value, "tzinfo"):
        return as_utc(value).isoformat()
    if isinstance(value, float):
        return round(value, 9)
    return value


@pytest.fixture
def demo_url(database_url: str) -> str:
    generate(database_url, **SMALL)
    return database_url


def test_the_same_seed_gives_the_same_program_on_either_backend(demo_url: str, tmp_path: Path) -> None:
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    generate(reference, **SMALL)

    assert dump(demo_url) == dump(reference)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    generate(other, **{**SMALL, "seed": 12})
    assert dump(other)["attempts"] != dump(reference)["attempts"]


def test_the_program_has_the_asked_for_shape(demo_url: str) -> None:
    store = Store(demo_url)
    try:
        with store.read() as session:
            users = session.execute(select(User.role, User.pseudonym, User.display_name)).all()
            cohorts = session.scalars(select(Cohort.name)).all()
            attempts = session.scalar(select(func.count()).select_from(Attempt))
    finally:
        store.dispose()
    roles = [role for role, _, _ in users]
    assert roles.count("trainee") == 8 and roles.count("supervisor") == 2 and roles.count("admin") == 1
    assert len(cohorts) == 2 and attempts == 8 * 8
    pseudonyms = [p for _, p, _ in users]
    assert all(p and p.startswith("Trainee ") for p in pseudonyms) and len(set(pseudonyms)) == len(pseudonyms)


def test_every_attempt_replays_to_exactly_what_was_recorded(demo_url: str) -> None:
    store = Store(demo_url)
    try:
        with store.read() as session:
            versions = {h: from_snapshot(s) for h, s in session.execute(select(ScenarioVersion.content_hash,
                                                                                 ScenarioVersion.snapshot))}
            steps: dict[str, list[AttemptStep]] = {}
            for step in session.scalars(select(AttemptStep).order_by(AttemptStep.attempt_id, AttemptStep.step_no)):
                steps.setdefault(step.attempt_id, []).append(step)
            scores: dict[tuple[str, int], dict[str, int]] = {}
            for row in session.scalars(select(StepScore)):
                scores.setdefault((row.attempt_id, row.step_no), {})[row.dimension] = row.value
            attempts = list(session.scalars(select(Attempt)))
    finally:
        store.dispose()
    assert attempts
    for attempt in attempts:
        scenario, rubric = versions[attempt.content_hash]
        mine = steps.get(attempt.id, [])
        assert [s.step_no for s in mine] == list(range(len(mine)))
        play = Playthrough.resume(scenario, rubric, [s.choice_id for s in mine])
        outcomes = iter(play.outcomes)
        for step in mine:
            if step.choice_id is None:
                assert step.score is None and (attempt.id, step.step_no) not in scores
                continue
            outcome = next(outcomes)
            assert (outcome.node, outcome.choice) == (step.node_id, step.choice_id)
            assert step.score == pytest.approx(outcome.score) and step.zone == outcome.zone
            assert scores[(attempt.id, step.step_no)] == outcome.scores
        assert play.finished == (attempt.status == "completed")
        if play.finished:
            report = play.report()
            assert attempt.score == pytest.approx(report.score)
            assert (attempt.zone, attempt.ending) == (report.zone, report.ending)
            assert as_utc(attempt.completed_at) >= as_utc(attempt.started_at)


def test_trainees_learn_early_habits_fade_and_later_attempts_score_higher(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'curve.db'}"
    generate(url, cohorts=1, trainees=30, attempts=12, seed=3, end=date(2025, 6, 30))
    store = Store(url)
    try:
        with store.read() as session:
            rows = session.execute(
                select(Attempt.user_id, Attempt.started_at, Attempt.score).where(Attempt.status == "completed")
            ).all()
            zones = session.execute(
                select(Attempt.user_id, Attempt.started_at, AttemptStep.zone)
                .join(AttemptStep, AttemptStep.attempt_id == Attempt.id)
                .where(AttemptStep.choice_id.is_not(None))
            ).all()
    finally:
        store.dispose()
    order: dict[int, list] = {}
    for user, _started, score in sorted(rows, key=lambda r: (r[0], r[1])):
        order.setdefault(user, []).append(score)
    early = statistics.mean(s for scores in order.values() for s in scores[:4])
    late = statistics.mean(s for scores in order.values() for s in scores[-4:])
    assert late > early + 10

    firsts: dict[int, object] = {}
    lasts: dict[int, object] = {}
    for user, started, _ in rows:
        firsts[user] = min(firsts.get(user, started), started)
        lasts[user] = max(lasts.get(user, started), started)
    early_zones = [z for u, s, z in zones if s == firsts[u]]
    late_zones = [z for u, s, z in zones if s == lasts[u]]

    def unbalanced(zs: list[str]) -> float:
        return sum(z in ("over-apology", "defensive") for z in zs) / len(zs)

    assert unbalanced(early_zones) > unbalanced(late_zones)


def test_the_command_line_prints_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--url", url, "--cohorts", "1", "--trainees", "2", "--attempts", "3", "--seed", "4",
                 "--end", "2025-06-30"]) == 0
    out = capsys.readouterr().out
    assert "1 cohorts" in out and "2 trainees" in out and "6 attempts" in out
    with pytest.raises(SystemExit):
        main(["--url", url, "--cohorts", "0"])
