"""Generate a realistic synthetic training program, for demos, screenshots and benchmarks.

    python -m repairlab.demo --url sqlite:///data/demo.db --cohorts 3 --trainees 12 --attempts 15 --seed 7

into any database URL (the schema is created or upgraded first). It makes
``--cohorts`` cohorts, one starting each year up to ``--end``, each with a
supervisor and ``--trainees`` trainees (names, usernames and pseudonyms),
and ``--attempts`` attempts per trainee on the scenarios of the library
(``--scenarios``, default the bundled one), spread over each cohort's
training year.

Every attempt is a real play-through of the engine on the stored scenario
version, so its steps, per-dimension scores, zones, endings and attempt
scores are exactly what the app would have recorded, and every attempt
replays. Choices follow a policy per trainee:

* a **skill** that grows with practice along a learning curve of the
  trainee's own (start level and learning rate vary);
* a **habit** (over-apology, defensive or dismissive responses) that pulls
  early choices towards its zone and fades, at a rate of its own, as skill
  grows, so early attempts are more over-apologetic or defensive and later
  ones more balanced;
* varied practice: beginner scenarios first, some trainees practise much
  more in bursts, some leave their last attempt unfinished, about a third
  write a reflection.

The output depends only on the arguments: the same ``--seed`` and ``--end``
give the same program, row for row, in any empty database. Rows are written
with bulk inserts, one transaction per cohort.

``--password`` gives the admin (``demo-admin``), the supervisors and the
trainees that password, so the demo can be signed into (hashed once). Names
that are taken in the database already get a numeric suffix.
"""

from __future__ import annotations

import argparse
import base64
import math
import random
import sys
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from engine import Playthrough, Rubric, Scenario

from .config import PROJECT_ROOT
from .db import Store
from .db.tables import UNAMBIGUOUS, Attempt, AttemptStep, Cohort, CohortMember, StepScore, User
from .services.catalog import Catalog

FIRST_NAMES = (
    "Ana", "Ben", "Chiara", "Dmitri", "Esi", "Farah", "Gabriel", "Hana", "Ines", "Jonas", "Kemal", "Leila",
    "Mateo", "Nadia", "Oren", "Priya", "Quentin", "Rosa", "Sipho", "Tamar", "Uma", "Victor", "Wen", "Ximena",
    "Yusuf", "Zoe", "Amara", "Bruno", "Carmen", "Daniel", "Elif", "Femi", "Greta", "Hugo", "Ivana", "Jae",
    "Kofi", "Lucia", "Malik", "Noor", "Olga", "Pablo", "Rania", "Sven", "Teresa", "Uriel", "Vera", "Wim",
)
LAST_NAMES = (
    "Almeida", "Brennan", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lindqvist", "Mensah", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka",
    "Urquhart", "Varga", "Weiss", "Xu", "Yilmaz", "Zhang", "Adeyemi", "Bauer", "Costa", "Novak", "Moreau",
    "Silva", "Horvat", "Nguyen", "Olsen", "Patel", "Romero", "Sato", "Torres", "Walsh",
)
PROGRAMS = ("MFT", "Clinical Psychology", "Counselling")
HABITS = ("over-apology", "defensive", "dismissive")
HABIT_WEIGHTS = (0.45, 0.33, 0.22)
DIFFICULTY_RANK = {"beginner": 0, "intermediate": 1, "advanced": 2}
REFLECTIONS = (
    "Next time I want to name what I did before {client} has to bring it up.",
    "I apologised too much and {client} ended up reassuring me. Keep it short and stay curious.",
    "I explained my reasons before owning the mistake. Try ownership first, rationale later if asked.",
    "Asking {client} how it felt opened things up. I want to stay with that longer.",
    "I moved on too quickly. Slow down and invite the reaction.",
    "I got defensive when {client} complained. Notice the urge to justify and pause.",
    "Linking it to how {client} gets treated elsewhere landed well this time.",
)
TRAINING_DAYS = 270


@dataclass(frozen=True)
class Playable:
    scenario: Scenario
    rubric: Rubric
    content_hash: str


@dataclass
class Trainee:
    user_id: int
    skill0: float
    rate: float
    habit: str
    habit_strength: float
    persistence: float
    reflective: float
    busy: float


@dataclass(frozen=True)
class DemoSummary:
    cohorts: int
    supervisors: int
    trainees: int
    attempts: int
    completed: int
    steps: int
    choices: int
    seconds: float


def _token(rng: random.Random, size: int = 16) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(size)).rstrip(b"=").decode("ascii")


def _code(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(UNAMBIGUOUS) for _ in range(length))


class _Names:
    """Unique usernames, pseudonyms and cohort names, avoiding those already in the database."""

    def __init__(self, store: Store) -> None:
        with store.read() as session:
            self.usernames = {u for (u,) in session.execute(select(User.username)) if u}
            self.pseudonyms = {p for (p,) in session.execute(select(User.pseudonym)) if p}
            self.cohorts = {c for (c,) in session.execute(select(Cohort.name))}

    @staticmethod
    def _free(base: str, taken: set[str], sep: str) -> str:
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}{sep}{n}"
        taken.add(name)
        return name

    def username(self, base: str) -> str:
        return self._free(base, self.usernames, "")

    def cohort(self, base: str) -> str:
        return self._free(base, self.cohorts, " #")

    def pseudonym(self, rng: random.Random, length: int) -> str:
        while True:
            candidate = f"Trainee {_code(rng, length)}"
            if candidate not in self.pseudonyms:
                self.pseudonyms.add(candidate)
                return candidate


def _ascii(text: str) -> str:
    return "".join(ch for ch in text.lower() if "a" <= ch <= "z")


def load_playables(store: Store, scenarios: Path) -> list[Playable]:
    catalog = Catalog(store, scenarios)
    entries = sorted(catalog.entries(), key=lambda e: e.scenario.id)
    if not entries:
        raise SystemExit(f"No playable scenarios in {scenarios}.")
    return [Playable(e.scenario, e.rubric, catalog.ensure_stored(e)) for e in entries]


def choose(rng: random.Random, play: Playthrough, skill: float, trainee: Trainee) -> str:
    """A trainee's pick: better scores weigh more with skill; their habit weighs more without it."""
    offered = play.offered_choices()
    rubric = play.rubric
    pull = trainee.habit_strength * (1.0 - skill) ** (2.0 - trainee.persistence)
    weights = []
    for choice in offered:
        score = rubric.score(choice.scores) / 100.0
        zone = rubric.zone_of(choice.scores)
        logit = 5.5 * skill * score + (pull if zone == trainee.habit else 0.0) + rng.gauss(0.0, 0.35)
        weights.append(math.exp(logit))
    return rng.choices(offered, weights=weights, k=1)[0].id


def _attempt_times(rng: random.Random, start: datetime, count: int, end: datetime, busy: float) -> list[datetime]:
    """Attempt start times over the training year: bursts around a few practice weeks."""
    base = start.replace(hour=0, minute=0, second=0, microsecond=0)
    span = max(1.0, min(TRAINING_DAYS, (end - start).total_seconds() / 86_400 - 1))
    centres = sorted(rng.uniform(0, span) for _ in range(max(2, int(3 + 6 * busy))))
    moments = []
    for _ in range(count):
        day = min(span, max(0.0, rng.choice(centres) + rng.gauss(0, 9)))
        hour = rng.choice((8, 9, 10, 12, 13, 14, 16, 17, 19, 20, 21))
        moments.append(base + timedelta(days=int(day), hours=hour, minutes=rng.randrange(60)))
    return sorted(moments)


def _pick_scenario(rng: random.Random, playables: Sequence[Playable], progress: float) -> Playable:
    weights = []
    for p in playables:
        rank = DIFFICULTY_RANK.get(p.scenario.difficulty, 1)
        weights.append(math.exp(-1.6 * max(0.0, rank - 2.5 * progress)))
    return rng.choices(playables, weights=weights, k=1)[0]


def generate(
    url: str,
    cohorts: int,
    trainees: int,
    attempts: int,
    seed: int,
    scenarios: Path | None = None,
    end: date | None = None,
    password: str | None = None,
    log=None,  # type: ignore[no-untyped-def]
) -> DemoSummary:
    """Write the synthetic program into `url`; returns what was written."""
    if cohorts < 1 or trainees < 1 or attempts < 0:
        raise ValueError("cohorts and trainees must be at least 1, attempts at least 0")
    began = clock.perf_counter()
    store = Store(url)
    try:
        store.upgrade()
        playables = load_playables(store, scenarios or PROJECT_ROOT / "scenarios")
        rng = random.Random(seed)
        names = _Names(store)
        end_day = end or datetime.now(UTC).date()
        end_at = datetime.combine(end_day, time(18, 0), UTC)
        password_hash = None
        if password:
            from .services.accounts import check_password, make_password_hasher

            password_hash = make_password_hasher().hash(check_password(password))
        pseudonym_length = 4 if cohorts * trainees < 5_000 else 6
        totals = dict(attempts=0, completed=0, steps=0, choices=0, supervisors=0)

        with store.write() as session:
            if "demo-admin" not in names.usernames:
                names.usernames.add("demo-admin")
                session.execute(
                    insert(User),
                    [_user_row(rng, names, "demo-admin", "Demo Administrator", "admin", password_hash,
                               end_at - timedelta(days=365 * cohorts + 30), pseudonym_length)],
                )

        for index in range(cohorts):
            start = end_at - timedelta(days=300 + 365 * (cohorts - 1 - index))
            program = PROGRAMS[index % len(PROGRAMS)]
            with store.write() as session:
                cohort_id = session.execute(
                    insert(Cohort).returning(Cohort.id),
                    [{"name": names.cohort(f"{program} {start.year}"), "program": program, "year": start.year,
                      "created_at": start - timedelta(days=14), "archived": index < cohorts - 2}],
                ).scalar_one()
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                supervisor = session.execute(
                    insert(User).returning(User.id),
                    [_user_row(rng, names, names.username(f"sup.{_ascii(last)}"), f"Dr {first} {last}",
                               "supervisor", password_hash, start - timedelta(days=20), pseudonym_length)],
                ).scalar_one()
                totals["supervisors"] += 1
                rows = []
                for _ in range(trainees):
                    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                    username = names.username(f"{_ascii(first)}.{_ascii(last)}")
                    rows.append(_user_row(rng, names, username, f"{first} {last}", "trainee", password_hash,
                                          start - timedelta(days=rng.randrange(3, 20)), pseudonym_length))
                ids = list(
                    session.execute(insert(User).returning(User.id, sort_by_parameter_order=True), rows).scalars()
                )
                session.execute(
                    insert(CohortMember),
                    [{"cohort_id": cohort_id, "user_id": supervisor, "role": "supervisor", "joined_at": start}]
                    + [{"cohort_id": cohort_id, "user_id": uid, "role": "trainee",
                        "joined_at": start + timedelta(days=rng.randrange(0, 10))} for uid in ids],
                )
                people = [_traits(rng, uid) for uid in ids]
                attempt_rows, step_rows, score_rows = [], [], []
                for person in people:
                    _practise(rng, person, playables, attempts, start, end_at, attempt_rows, step_rows, score_rows)
                _bulk(session, Attempt, attempt_rows)
                _bulk(session, AttemptStep, step_rows)
                _bulk(session, StepScore, score_rows)
                totals["attempts"] += len(attempt_rows)
                totals["completed"] += sum(1 for a in attempt_rows if a["status"] == "completed")
                totals["steps"] += len(step_rows)
                totals["choices"] += sum(1 for s in step_rows if s["choice_id"] is not None)
            if log:
                log(f"cohort {index + 1}/{cohorts}: {len(ids)} trainees, {len(attempt_rows)} attempts")
        _analyze(store)
        return DemoSummary(
            cohorts=cohorts, supervisors=totals["supervisors"], trainees=cohorts * trainees,
            attempts=totals["attempts"], completed=totals["completed"], steps=totals["steps"],
            choices=totals["choices"], seconds=clock.perf_counter() - began,
        )
    finally:
        store.dispose()


def _analyze(store: Store) -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL plans badly without them)."""
    with store.write_engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def _bulk(session, table, rows: list[dict], size: int = 5_000) -> None:  # type: ignore[no-untyped-def]
    for index in range(0, len(rows), size):
        session.execute(insert(table), rows[index : index + size])


def _user_row(
    rng: random.Random, names: _Names, username: str, display: str, role: str, password_hash: str | None,
    created: datetime, pseudonym_length: int,
) -> dict:
    return {
        "public_id": _token(rng),
        "display_name": display,
        "is_guest": False,
        "role": role,
        "created_at": created,
        "username": username,
        "password_hash": password_hash,
        "email": f"{username}@example.org",
        "pseudonym": names.pseudonym(rng, pseudonym_length),
        "disabled": False,
    }


def _traits(rng: random.Random, user_id: int) -> Trainee:
    return Trainee(
        user_id=user_id,
        skill0=rng.uniform(0.05, 0.45),
        rate=rng.uniform(0.6, 2.6),
        habit=rng.choices(HABITS, weights=HABIT_WEIGHTS, k=1)[0],
        habit_strength=rng.uniform(1.2, 3.2),
        persistence=rng.uniform(0.0, 1.0),
        reflective=rng.uniform(0.05, 0.7),
        busy=rng.random(),
    )


def _practise(
    rng: random.Random, person: Trainee, playables: Sequence[Playable], count: int, start: datetime,
    end: datetime, attempts: list[dict], steps: list[dict], scores: list[dict],
) -> None:
    times = _attempt_times(rng, start, count, end, person.busy)
    for k, started in enumerate(times):
        progress = k / max(1, count - 1)
        skill = person.skill0 + (1 - person.skill0) * (1 - math.exp(-person.rate * 2.2 * progress))
        skill = min(0.97, max(0.02, skill + rng.gauss(0, 0.06)))
        playable = _pick_scenario(rng, playables, progress)
        attempt_id = _token(rng)
        unfinished = k == count - 1 and rng.random() < 0.12
        stop_after = rng.randrange(1, 4) if unfinished else None
        play = Playthrough.start(playable.scenario, playable.rubric)
        moment = started
        decisions = 0
        while not play.finished:
            if stop_after is not None and decisions >= stop_after:
                break
            moment += timedelta(seconds=rng.randrange(20, 140))
            step_no, node = play.step, play.node_id
            row = {"attempt_id": attempt_id, "step_no": step_no, "node_id": node, "choice_id": None,
                   "score": None, "best_score": None, "zone": None, "created_at": moment}
            if play.kind == "narration":
                play.proceed()
            else:
                outcome = play.choose(choose(rng, play, skill, person))
                decisions += 1
                row.update(choice_id=outcome.choice, score=outcome.score, best_score=outcome.best_score,
                           zone=outcome.zone)
                scores.extend(
                    {"attempt_id": attempt_id, "step_no": step_no, "dimension": name, "value": value}
                    for name, value in outcome.scores.items()
                )
            steps.append(row)
        mode = "assessment" if rng.random() < 0.3 + 0.3 * progress else "coached"
        attempt = {
            "id": attempt_id, "user_id": person.user_id, "content_hash": playable.content_hash,
            "scenario_id": playable.scenario.id, "mode": mode, "status": "in_progress", "started_at": started,
            "updated_at": moment, "completed_at": None, "ending": None, "score": None, "zone": None,
            "reflection": None, "reflection_at": None,
        }
        if play.finished:
            report = play.report()
            attempt.update(status="completed", completed_at=moment, ending=report.ending, score=report.score,
                           zone=report.zone)
            if rng.random() < person.reflective:
                text = rng.choice(REFLECTIONS).format(client=playable.scenario.client)
                attempt.update(reflection=text, reflection_at=moment + timedelta(minutes=rng.randrange(1, 15)))
                attempt["updated_at"] = moment
        attempts.append(attempt)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m repairlab.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="database URL, e.g. sqlite:///data/demo.db")
    parser.add_argument("--cohorts", type=int, default=3, help="number of cohorts, one per year (default 3)")
    parser.add_argument("--trainees", type=int, default=12, help="trainees in each cohort (default 12)")
    parser.add_argument("--attempts", type=int, default=15, help="attempts by each trainee (default 15)")
    parser.add_argument("--seed", type=int, default=1, help="random seed: same seed, same program (default 1)")
    parser.add_argument("--scenarios", type=Path, default=None, help="scenario library (default: bundled)")
    parser.add_argument("--end", type=date.fromisoformat, default=None,
                        help="last day of the program, YYYY-MM-DD (default: today)")
    parser.add_argument("--password", default=None, help="password for every demo account (optional)")
    args = parser.parse_args(argv)
    try:
        summary = generate(
            args.url, args.cohorts, args.trainees, args.attempts, args.seed, args.scenarios, args.end,
            args.password, log=lambda line: print(line, file=sys.stderr),
        )
    except ValueError as error:
        parser.error(str(error))
    print(
        f"Wrote {summary.cohorts} cohorts, {summary.supervisors} supervisors, {summary.trainees} trainees, "
        f"{summary.attempts} attempts ({summary.completed} completed), {summary.steps} steps "
        f"({summary.choices} choices) in {summary.seconds:.1f} s."
    )
    if args.password:
        print("Sign in as demo-admin or any supervisor (sup.<surname>) with the password given.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
