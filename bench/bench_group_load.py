"""Group-session load test (a script, not a test): `.venv/bin/python bench/bench_group_load.py`.

Issue 5, "Load test": one supervisor-paced group session with 120 trainees,
every one a real Streamlit session driven at the WebSocket protocol level by
bench/st_client.py (what Streamlit's own load tests do: no browser, but the
same messages a browser sends, including the live fragments' timed reruns).
Everything runs on loopback against ONE `streamlit run` process.

What it does, and the figures it prints against the issue's targets:

1. Starts the app (tests/browser/conftest.py `start_app`) on a temporary
   SQLite database (``--postgres``: a temporary database on the local
   PostgreSQL server, dropped afterwards) and a copy of the bundled library.
   A supervisor account is created through the services (the server's CLI
   path) and signed in with a session token; everything else goes through
   the pages.
2. The supervisor opens *Host a group session* (`/group_host?s=<token>`),
   picks the scenario and supervisor-paced mode, presses **Start the
   session**, reads the join code off the page, and continues past any
   narration to the first decision.
3. N trainees (default 120) open the join link (`/group_join?code=...`), type
   a name, press **Join** and see the decision: all at once by default
   (``--join-ramp S`` spreads the arrivals over S seconds). Target: every
   trainee has joined within 10 s.
4. Every trainee picks a response and presses **Submit my answer**, at a
   random moment within ``--answer-window`` seconds (default 8). Each
   click's round trip (send -> the rerun chain's ``script_finished``) gives
   p50/p95/p99. Targets: all answered within 10 s; p99 <= 250 ms.
5. The supervisor's page is watched throughout: the *Answered* metric in its
   live fragment (the host's browser re-runs it every 1.5 s). Target: the
   count shows every answer within 3 s of the last one being written
   (``group_answers.answered_at``); also the lag of each single answer (the
   k-th written to the count reaching k), and what ``GroupService.counts()``
   (what the fragment calls) says right after the last click.
6. Stress (no target): every trainee *changes* their answer in the same
   instant (``--no-burst`` skips it); then the supervisor presses **Reveal
   the answers** and the time until every trainee's page shows the results
   is measured (fan-out through the trainees' live fragments).
   Also counted: pages left incomplete because Streamlit dropped the end of a
   run (under load, a fragment rerun that arrives as a run ends gets a new
   ScriptRunner, and the old runner's last deltas and ``script_finished`` are
   ignored: "Ignoring event from non-current ScriptRunner" in a debug log;
   a browser would miss them too). Such a page is refreshed by a rerun.
7. The database is checked: exactly one participant row per trainee, and for
   each exactly one answer, the one they submitted last: zero lost or
   duplicated answers.
8. Memory: the app process's VmRSS (read from /proc/<pid>/status) at each
   phase; per open session = growth while the trainees joined / N; and the
   growth over the whole run. CPU seconds of the app, of this client and of
   everything else on the machine, per phase; the exceptions in the server log.

Options: ``--trainees N``, ``--postgres`` (``--postgres-url URL``; default
REPAIRLAB_TEST_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test),
``--scenario ID`` (one whose first decision comes soon), ``--answer-window S``,
``--join-ramp S``, ``--no-live`` (do not run the live fragments' timed reruns:
under-states the load, for comparison), ``--no-burst``, ``--seed N``,
``--app-env KEY=VALUE`` (extra environment for the app, e.g.
``STREAMLIT_LOGGER_LEVEL=debug``), ``--timeout S`` (per trainee action),
``--json PATH`` (figures as JSON), ``--keep`` (keep the temporary folder and
its server log), ``--strict`` (exit 2 when a target is missed). Exit 1 when
answers were lost or duplicated or a trainee failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # `streamlit run` reads .streamlit/config.toml from here

import yaml  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.st_client import StreamlitSession  # noqa: E402
from tests.browser.conftest import RunningApp, start_app  # noqa: E402

DEFAULT_SCENARIO = "distracted-clock-watching"  # its first node is a decision
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ANSWER_LABEL = "How do you respond?"  # the trainee's radio ("... (only you see your choice)")
SUBMIT_LABEL = "Submit my answer"
SAVED_TEXT = "Your answer is saved"
RESULTS_TEXT = "Results are in"
TARGETS = {
    "join_all": 10.0,  # s: every trainee joined
    "answer_all": 10.0,  # s: every trainee answered
    "click_p99": 0.250,  # s: choice click round trip, p99, one app process
    "count_lag": 3.0,  # s: the supervisor's count reflects every answer
}


# -- the app process: memory and CPU from /proc ------------------------------------------


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (user, nice, system, irq, softirq, steal)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Phase:
    name: str
    seconds: float
    rss_mib: float
    app_cpu: float
    client_cpu: float
    others_cpu: float  # everything else on the machine (other people's tests share these CPUs)
    fragment_runs: int  # live-fragment reruns the clients sent during the phase


class Meter:
    """RSS and CPU of the app process (and this client's CPU) at the end of each phase."""

    def __init__(self, pid: int, fragment_runs: Callable[[], int]) -> None:
        self.pid = pid
        self.fragment_runs = fragment_runs
        self._fragments = 0
        self.phases: list[Phase] = []
        self._t = time.perf_counter()
        self._app_cpu = cpu_seconds(pid)
        self._own_cpu = own_cpu_seconds()
        self._busy = machine_busy_seconds()
        self.start_rss = rss_mib(pid)
        self.load_before = load_average()

    def mark(self, name: str) -> Phase:
        now, app, own, busy = (
            time.perf_counter(),
            cpu_seconds(self.pid),
            own_cpu_seconds(),
            machine_busy_seconds(),
        )
        app_cpu, own_cpu = app - self._app_cpu, own - self._own_cpu
        others = max(0.0, busy - self._busy - app_cpu - own_cpu)
        fragments = self.fragment_runs()
        phase = Phase(
            name, now - self._t, rss_mib(self.pid), app_cpu, own_cpu, others, fragments - self._fragments
        )
        self._t, self._app_cpu, self._own_cpu, self._busy, self._fragments = now, app, own, busy, fragments
        self.phases.append(phase)
        return phase


# -- the database -------------------------------------------------------------------------


class TempPostgres:
    """A fresh database on the PostgreSQL server, dropped WITH (FORCE) on exit."""

    def __init__(self, server_url: str) -> None:
        self.server = make_url(server_url)
        self.name = f"repairlab_bench_{secrets.token_hex(4)}"
        self.url = self.server.set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self) -> TempPostgres:
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        engine.dispose()
        return self

    def __exit__(self, *exc: object) -> None:
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        engine.dispose()


def signed_in_supervisor(database_url: str) -> str:
    """A supervisor account made through the services (as the server's CLI would); its session token."""
    from repairlab.db import Store
    from repairlab.services.accounts import AccountService
    from repairlab.services.signin import SignInService

    store = Store(database_url)
    try:
        store.upgrade()
        accounts = AccountService(store)
        password = "bench " + secrets.token_urlsafe(12)
        admin = accounts.create_admin(f"bench-admin-{secrets.token_hex(3)}", "Bench Admin", password)
        supervisor = accounts.create_user(
            admin.viewer, f"bench-sup-{secrets.token_hex(3)}", "Bench Supervisor", "supervisor", password
        )
        return SignInService(store).open_session(supervisor.id, client="bench").token
    finally:
        store.dispose()


def scenario_file(library: Path, scenario_id: str) -> dict[str, Any]:
    for path in library.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and data.get("id") == scenario_id:
            return data
    raise SystemExit(f"no scenario {scenario_id!r} in {library}")


def acceptable_answers(trainee: Trainee) -> set[str]:
    """What the database may hold for this trainee: the last answer sent if it was confirmed; if it
    was not (a timed-out round trip), that one or the last confirmed one."""
    if len(trainee.answers) == len(trainee.attempted):
        return {trainee.attempted[-1]}
    return {trainee.attempted[-1], *trainee.answers[-1:]}


@dataclass
class DbCheck:
    participants: int
    duplicate_participants: int
    answers: int
    duplicate_answers: int
    lost: int
    wrong: int
    db_counts: tuple[int, int] | None = None  # GroupService.counts(): (answered, joined)

    @property
    def ok(self) -> bool:
        return not (self.duplicate_participants or self.duplicate_answers or self.lost or self.wrong)


def check_database(
    database_url: str,
    group_id: str,
    step: int,
    expected: dict[str, set[str]],
    choices: dict[str, dict[str, str]],
) -> DbCheck:
    """`expected`: trainee name -> the choice texts the database may hold; `choices`: node -> text -> id."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            joined = connection.execute(
                text(
                    "SELECT u.display_name, count(*) FROM group_participants p JOIN users u ON u.id = p.user_id "
                    "WHERE p.session_id = :s GROUP BY u.display_name"
                ),
                {"s": group_id},
            ).all()
            rows = connection.execute(
                text(
                    "SELECT u.display_name, a.node_id, a.choice_id FROM group_answers a "
                    "JOIN group_participants p ON p.id = a.participant_id JOIN users u ON u.id = p.user_id "
                    "WHERE a.session_id = :s AND a.step_no = :step"
                ),
                {"s": group_id, "step": step},
            ).all()
    finally:
        engine.dispose()
    per_name = Counter(name for name, _, _ in rows)
    found = {name: (node, choice) for name, node, choice in rows}
    lost = wrong = 0
    for name, texts in expected.items():
        if name not in found:
            lost += 1
            continue
        node, choice_id = found[name]
        if choice_id not in {choices.get(node, {}).get(choice_text) for choice_text in texts}:
            wrong += 1
    return DbCheck(
        participants=sum(n for _, n in joined),
        duplicate_participants=sum(n - 1 for _, n in joined),
        answers=len(rows),
        duplicate_answers=sum(n - 1 for n in per_name.values()),
        lost=lost,
        wrong=wrong,
    )


def service_counts(database_url: str, library: Path, group_id: str) -> tuple[int, int]:
    """What the host's fragment reads: GroupService.counts(), from this process."""
    from repairlab.db import Store
    from repairlab.services.catalog import Catalog
    from repairlab.services.groups import GroupService
    from repairlab.services.practice import PracticeService

    store = Store(database_url)
    try:
        catalog = Catalog(store, library)
        counts = GroupService(store, catalog, PracticeService(store, catalog)).counts(group_id)
        return counts.answered, counts.joined
    finally:
        store.dispose()


# -- the people ---------------------------------------------------------------------------


@dataclass
class Host:
    session: StreamlitSession
    group_id: str
    code: str
    samples: list[tuple[float, int]] = field(default_factory=list)  # (time.time(), answered) on each change


async def host_starts_session(url: str, token: str, scenario_title: str, live: bool = True) -> Host:
    """The supervisor's page: start a supervisor-paced session and bring the group to the first decision."""
    host = StreamlitSession(url, "group_host", f"s={token}", auto_rerun=live, timeout=60, name="host")
    await host.connect()
    await host.set_selectbox("Scenario", scenario_title)
    await host.set_radio("Mode", "Supervisor-paced")
    await host.submit_form("Start the session")
    group_id = host.query_params().get("session")
    found = re.search(r"Join code: ([A-Z0-9 ]+)", host.text)
    if not group_id or not found:
        raise RuntimeError(f"the host page did not start a session: {host.texts()}")
    while not host.has("button", "Reveal the answers"):
        if not host.has("button", "Continue"):
            raise RuntimeError(f"the group reached neither a decision nor narration: {host.texts()}")
        await host.click_button("Continue")
    return Host(host, group_id, found.group(1).replace(" ", ""))


def answered_count(session: StreamlitSession) -> int | None:
    value = session.metric("Answered")  # "12 of 120"
    return int(value.split()[0]) if value else None


async def watch_host(host: Host, stop: asyncio.Event) -> None:
    """Record when the supervisor's *Answered* metric changes (its fragment reruns every 1.5 s)."""
    last = answered_count(host.session)
    host.samples.append((time.time(), last or 0))
    while not stop.is_set():
        try:
            await host.session.wait_for(lambda s, seen=last: answered_count(s) != seen, timeout=0.25)
        except TimeoutError:
            continue
        last = answered_count(host.session)
        if last is not None:
            host.samples.append((time.time(), last))


@dataclass
class Trainee:
    index: int
    name: str
    session: StreamlitSession
    join_started: float = 0.0
    joined_at: float | None = None  # when the Join round trip ended with the group in the URL
    answers: list[str] = field(default_factory=list)  # choice texts whose submit round trip ended
    attempted: list[str] = field(default_factory=list)  # choice texts sent (the last may be unconfirmed)
    answered_at: float | None = None  # when the last answer's round trip ended
    clicks: list[float] = field(default_factory=list)
    burst_clicks: list[float] = field(default_factory=list)
    incomplete_pages: int = 0  # round trips after which the page lacked what the run draws (see below)
    error: str | None = None


async def trainee_joins(trainee: Trainee, delay: float) -> None:
    await asyncio.sleep(delay)
    trainee.join_started = time.perf_counter()
    try:
        session = trainee.session
        await session.connect()
        await session.fill_text("Your name or a nickname", trainee.name)  # in the join form: pending
        await session.submit_form("Join")
        if "group" not in session.query_params():
            raise RuntimeError(f"not joined: {session.texts()}")
        trainee.joined_at = time.perf_counter()
        if not session.has("radio", ANSWER_LABEL):
            # Joined (the group is in the URL), but the page lacks the decision: Streamlit dropped the
            # end of the run (see StreamlitSession._on_session_status); the next full rerun draws it.
            trainee.incomplete_pages += 1
            await session.rerun(action="refresh")
            session.find("radio", ANSWER_LABEL)
    except Exception as error:  # noqa: BLE001 - counted and reported
        trainee.error = f"join: {error!r}"


async def trainee_answers(trainee: Trainee, delay: float, rng: random.Random, burst: bool = False) -> None:
    await asyncio.sleep(delay)
    if trainee.error:
        return
    try:
        session = trainee.session
        options = session.find("radio", ANSWER_LABEL).options
        choices = [o for o in options if not trainee.answers or o != trainee.answers[-1]]
        picked = rng.choice(choices)
        await session.set_radio(ANSWER_LABEL, picked)
        trainee.attempted.append(picked)
        timing = await session.submit_form(SUBMIT_LABEL)
        trainee.answers.append(picked)
        (trainee.burst_clicks if burst else trainee.clicks).append(timing.seconds)
        trainee.answered_at = time.perf_counter()
        if not any(SAVED_TEXT in t for t in session.texts("alert")):
            trainee.incomplete_pages += 1  # saved (the database check says so) but not confirmed on the page
            await session.rerun(action="refresh")
            session.find("radio", ANSWER_LABEL)
    except Exception as error:  # noqa: BLE001
        trainee.error = f"answer: {error!r}"


# -- figures ------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None or seconds != seconds else f"{seconds * 1000:.0f} ms"


def secs(seconds: float | None) -> str:
    return "n/a" if seconds is None or seconds != seconds else f"{seconds:.2f} s"


def count_lags(samples: list[tuple[float, int]], written: list[float]) -> list[float]:
    """For the k-th answer written to the database (epoch seconds), how long until the host's page
    showed a count of at least k."""
    lags = []
    for k, at in enumerate(sorted(written), start=1):
        seen = next((t for t, n in samples if n >= k), None)
        lags.append(float("inf") if seen is None else max(0.0, seen - at))
    return lags


def answer_times(database_url: str, group_id: str, step: int) -> list[float]:
    """When each answer at `step` was written (group_answers.answered_at), as epoch seconds."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            stamps = connection.execute(
                text("SELECT answered_at FROM group_answers WHERE session_id = :s AND step_no = :step"),
                {"s": group_id, "step": step},
            ).scalars()
            return [
                (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
                for stamp in (datetime.fromisoformat(x) if isinstance(x, str) else x for x in stamps)
            ]
    finally:
        engine.dispose()


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def verdict(value: float | None, target: float) -> str:
    if value is None or value != value:
        return "n/a"
    return "ok" if value <= target else "MISSED"


# -- the run ------------------------------------------------------------------------------


async def run_load(app: RunningApp, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    data = scenario_file(app.library, args.scenario)
    choices = {
        node_id: {c["text"]: c["id"] for c in node.get("choices") or []}
        for node_id, node in data["nodes"].items()
    }
    sessions: list[StreamlitSession] = []
    meter = Meter(app.process.pid, lambda: sum(s.fragment_runs_sent for s in sessions))
    token = signed_in_supervisor(database_url)

    # warm-up: the first session of the process imports the app's modules (a supervisor
    # trying the join page before class does the same)
    warm = StreamlitSession(app.url, "group_join", auto_rerun=False, name="warm-up")
    await warm.connect()
    await warm.close()
    meter.mark("start + warm-up")

    host = await host_starts_session(app.url, token, data["title"], live=not args.no_live)
    sessions.append(host.session)
    before_joins = meter.mark("host started the session")
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_host(host, stop))

    # -- joins: everyone at once (or spread over --join-ramp seconds)
    trainees = [
        Trainee(
            i,
            f"Trainee {i:03d}",
            StreamlitSession(
                app.url,
                "group_join",
                f"code={host.code}",
                auto_rerun=not args.no_live,
                timeout=args.timeout,
                name=f"trainee-{i:03d}",
            ),
        )
        for i in range(1, args.trainees + 1)
    ]
    sessions.extend(t.session for t in trainees)
    n = len(trainees)
    t0 = time.perf_counter()
    await asyncio.gather(*(trainee_joins(t, args.join_ramp * i / n) for i, t in enumerate(trainees)))
    joined = [t for t in trainees if t.joined_at is not None and not t.error]
    join_all = max(t.joined_at for t in joined) - t0 if len(joined) == n else None  # type: ignore[type-var]
    join_each = [t.joined_at - t.join_started for t in joined]  # type: ignore[operator]
    joins_phase = meter.mark(f"{len(joined)} trainees joined")
    await asyncio.sleep(args.settle)  # the live fragments run on their timers meanwhile
    idle = meter.mark(f"{len(joined)} sessions open, idle {args.settle:.0f} s")

    # -- answers, each at a random moment of the window
    t1 = time.perf_counter()
    await asyncio.gather(*(trainee_answers(t, rng.uniform(0, args.answer_window), rng) for t in joined))
    answered = [t for t in joined if t.answered_at is not None]
    answer_all = max(t.answered_at for t in answered) - t1 if len(answered) == n else None  # type: ignore[type-var]
    clicks = [c for t in answered for c in t.clicks]
    sent = sum(1 for t in joined if t.attempted)
    last_click = max((t.answered_at for t in answered), default=None)
    counts_now = service_counts(database_url, app.library, host.group_id)
    step = group_position(database_url, host.group_id)
    count_after_click: float | None = None
    count_after_write: float | None = None
    if last_click is not None and not args.no_live:  # without its fragment the host's page never updates
        try:
            await host.session.wait_for(lambda s: (answered_count(s) or 0) >= sent, timeout=30)
            count_after_click = max(0.0, time.perf_counter() - last_click)
        except TimeoutError:
            pass
    written = answer_times(database_url, host.group_id, step)  # before the burst rewrites them
    answers_phase = meter.mark("answers (spread)")

    # -- stress: everyone changes their answer at the same instant
    burst: list[float] = []
    if not args.no_burst:
        await asyncio.gather(*(trainee_answers(t, 0.0, rng, burst=True) for t in answered))
        burst = [c for t in answered for c in t.burst_clicks]
        meter.mark("answers changed (burst)")

    # -- reveal: how long until every trainee's page shows the results (through their fragments)
    reveal_fanout = None
    reveal_error = None
    if not args.no_live and answered:
        pressed = time.perf_counter()
        try:
            await host.session.click_button("Reveal the answers")
            await asyncio.gather(
                *(
                    t.session.wait_for(lambda s: any(RESULTS_TEXT in x for x in s.texts("alert")), 60)
                    for t in answered
                )
            )
            reveal_fanout = time.perf_counter() - pressed
        except Exception as error:  # noqa: BLE001 - reported
            reveal_error = repr(error)
        meter.mark("reveal reached every trainee")

    stop.set()
    await watcher  # its samples are complete now
    lags = count_lags(host.samples, written) if not args.no_live else []
    if written and len(lags) == len(written) and lags[-1] != float("inf"):
        count_after_write = lags[-1]
    rss_open = rss_mib(app.process.pid)
    await asyncio.gather(*(s.close() for s in sessions))
    await asyncio.sleep(2)
    meter.mark("all sessions closed (+2 s)")

    check = check_database(
        database_url,
        host.group_id,
        step,
        {t.name: acceptable_answers(t) for t in trainees if t.attempted},
        choices,
    )
    check.db_counts = counts_now
    return {
        "trainees": n,
        "joined": len(joined),
        "answered": len(answered),
        "errors": [f"{t.name}: {t.error}" for t in trainees if t.error]
        + ([f"reveal: {reveal_error}"] if reveal_error else []),
        "incomplete_pages": sum(t.incomplete_pages for t in trainees),
        "dropped_finishes": sum(s.chains_without_finish for s in sessions),
        "join_all_s": join_all,
        "join_each_p50_s": pct(join_each, 50),
        "join_each_p95_s": pct(join_each, 95),
        "join_each_max_s": max(join_each, default=None),
        "answer_all_s": answer_all,
        "click_p50_s": pct(clicks, 50),
        "click_p95_s": pct(clicks, 95),
        "click_p99_s": pct(clicks, 99),
        "click_max_s": max(clicks, default=None),
        "burst_p50_s": pct(burst, 50) if burst else None,
        "burst_p95_s": pct(burst, 95) if burst else None,
        "burst_p99_s": pct(burst, 99) if burst else None,
        "burst_max_s": max(burst, default=None),
        "count_after_last_write_s": count_after_write,
        "count_after_last_click_s": count_after_click,
        "count_lag_p50_s": pct(lags, 50),
        "count_lag_max_s": max(lags, default=None),
        "service_counts_after_last_click": counts_now,
        "reveal_fanout_s": reveal_fanout,
        "db": check.__dict__ | {"ok": check.ok},
        "rss_start_mib": meter.start_rss,
        "rss_warm_mib": meter.phases[0].rss_mib,
        "rss_before_joins_mib": before_joins.rss_mib,
        "rss_joined_mib": joins_phase.rss_mib,
        "rss_open_end_mib": rss_open,
        "rss_closed_mib": meter.phases[-1].rss_mib,
        "rss_per_session_mib": (idle.rss_mib - before_joins.rss_mib) / max(1, len(joined)),
        "rss_growth_mib": rss_open - meter.phases[0].rss_mib,
        "idle_app_cores": idle.app_cpu / idle.seconds,
        "fragment_run_cpu_ms": 1000 * idle.app_cpu / idle.fragment_runs if idle.fragment_runs else None,
        "join_cpu_ms": 1000 * joins_phase.app_cpu / max(1, len(joined)),
        # the answers' own CPU: the phase's, less what the live fragments cost at the idle rate
        "answer_cpu_ms": 1000
        * max(0.0, answers_phase.app_cpu - idle.app_cpu / idle.seconds * answers_phase.seconds)
        / max(1, len(clicks)),
        "fragment_reruns_sent": sum(s.fragment_runs_sent for s in sessions),
        "phases": [p.__dict__ for p in meter.phases],
        "load_before": meter.load_before,
        "load_after": load_average(),
    }


def group_position(database_url: str, group_id: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT position FROM group_sessions WHERE id = :s"), {"s": group_id}
                ).scalar()
            )
    finally:
        engine.dispose()


def report(figures: dict[str, Any], args: argparse.Namespace, backend: str) -> bool:
    """Print the table of figures against the targets; True when a target was missed."""
    n = figures["trainees"]
    db = figures["db"]
    f = figures
    print()
    print(
        f"Group-session load test: {n} trainees in one supervisor-paced session on ONE app process, {backend}; "
        f"live fragments {'OFF' if args.no_live else 'on'}; joins {'all at once' if not args.join_ramp else f'over {args.join_ramp:.0f} s'}; "
        f"answers spread over {args.answer_window:.0f} s; {os.cpu_count()} CPUs shared by the app, this client "
        "and anything else running"
    )
    print()
    rows: list[tuple[str, str, str, str]] = [("figure", "measured", "target", "")]

    def add(name: str, value: str, target: str = "", ok: str = "") -> None:
        rows.append((name, value, target, ok))

    def flag(good: bool) -> str:
        return "ok" if good else "MISSED"

    add("trainees joined", f"{f['joined']} of {n}", f"{n}", flag(f["joined"] == n))
    add("all joined within", secs(f["join_all_s"]), "<= 10 s", verdict(f["join_all_s"], TARGETS["join_all"]))
    add(
        "  one join (open link .. decision shown) p50 / p95 / max",
        f"{ms(f['join_each_p50_s'])} / {ms(f['join_each_p95_s'])} / {ms(f['join_each_max_s'])}",
    )
    add("trainees answered", f"{f['answered']} of {n}", f"{n}", flag(f["answered"] == n))
    add(
        "all answered within",
        secs(f["answer_all_s"]),
        "<= 10 s",
        verdict(f["answer_all_s"], TARGETS["answer_all"]),
    )
    add("choice click round trip p50 / p95", f"{ms(f['click_p50_s'])} / {ms(f['click_p95_s'])}")
    add(
        "choice click round trip p99",
        ms(f["click_p99_s"]),
        "<= 250 ms",
        verdict(f["click_p99_s"], TARGETS["click_p99"]),
    )
    add("  max", ms(f["click_max_s"]))
    add(
        "supervisor's count shows every answer, after the last was written",
        secs(f["count_after_last_write_s"]),
        "<= 3 s",
        verdict(f["count_after_last_write_s"], TARGETS["count_lag"]),
    )
    add("  ... after the last click's round trip ended", secs(f["count_after_last_click_s"]))
    add(
        "  lag from one answer written to the count: p50 / max",
        f"{secs(f['count_lag_p50_s'])} / {secs(f['count_lag_max_s'])}",
        "<= 3 s",
        verdict(f["count_lag_max_s"], TARGETS["count_lag"]),
    )
    answered_now, joined_now = f["service_counts_after_last_click"]
    add(
        "  GroupService.counts() right after the last click",
        f"{answered_now} of {joined_now}",
        f"{n} of {n}",
        flag((answered_now, joined_now) == (n, n)),
    )
    add(
        "answers lost in the database",
        f"{db['lost'] + db['wrong']}",
        "0",
        flag(not (db["lost"] or db["wrong"])),
    )
    add(
        "answers duplicated in the database",
        f"{db['duplicate_answers']}",
        "0",
        flag(not db["duplicate_answers"]),
    )
    add(
        "participants duplicated",
        f"{db['duplicate_participants']}",
        "0",
        flag(not db["duplicate_participants"]),
    )
    add("  rows: participants / answers", f"{db['participants']} / {db['answers']}", f"{n} / {n}")
    add(
        "pages left incomplete (Streamlit dropped a run's end)",
        f"{f['incomplete_pages']} (finishes dropped: {f['dropped_finishes']})",
        "(none)",
    )
    if f["burst_p50_s"] is not None:
        add(
            f"stress: all {f['answered']} change answers at once, p50 / p95 / p99 / max",
            f"{ms(f['burst_p50_s'])} / {ms(f['burst_p95_s'])} / {ms(f['burst_p99_s'])} / {ms(f['burst_max_s'])}",
            "(none)",
        )
    if f["reveal_fanout_s"] is not None:
        add("reveal reaches every trainee's page", secs(f["reveal_fanout_s"]), "(fragment every 1.5 s)")
    add(
        "app CPU with every session open and idle", f"{f['idle_app_cores']:.2f} cores", "(one process: <= ~1)"
    )
    if f["fragment_run_cpu_ms"] is not None:
        add("  app CPU per live-fragment rerun", f"{f['fragment_run_cpu_ms']:.1f} ms")
    add("app CPU per join (3 page runs)", f"{f['join_cpu_ms']:.0f} ms")
    add(
        "app CPU per answer click (2 page runs; less the fragments' idle rate)",
        f"{f['answer_cpu_ms']:.0f} ms",
    )
    add(
        "app RSS: server up / app warm + host / all joined",
        f"{f['rss_start_mib']:.0f} / {f['rss_before_joins_mib']:.0f} / {f['rss_joined_mib']:.0f} MiB",
    )
    add(
        "memory per open session (RSS growth while joining / N)", f"{f['rss_per_session_mib'] * 1024:.0f} KiB"
    )
    add(
        "app RSS growth over the run (warm app -> end, sessions open)",
        f"{f['rss_growth_mib']:+.0f} MiB ({f['rss_warm_mib']:.0f} -> {f['rss_open_end_mib']:.0f})",
    )
    add(
        "app RSS after every session closed (+2 s)",
        f"{f['rss_closed_mib']:.0f} MiB",
        "(state kept 120 s: server.disconnectedSessionTTL)",
    )
    add("live-fragment reruns sent by the clients", f"{f['fragment_reruns_sent']}")
    print_table(rows)
    print()
    print(
        "Phases: wall time, app RSS at the end, CPU seconds of the app process, of this client and of every "
        f"other process ({os.cpu_count()} CPUs: at most {os.cpu_count()} CPU-seconds per second in all; "
        f"load average {f['load_before']} before, {f['load_after']} after):"
    )
    for phase in f["phases"]:
        print(
            f"  {phase['name']:<34} {phase['seconds']:7.2f} s  RSS {phase['rss_mib']:4.0f} MiB  "
            f"app {phase['app_cpu']:6.2f} s  client {phase['client_cpu']:5.2f} s  others {phase['others_cpu']:6.2f} s  "
            f"fragment reruns {phase['fragment_runs']}"
        )
    if f["errors"]:
        print()
        print(f"{len(f['errors'])} trainee(s) failed:")
        for line in f["errors"][:20]:
            print("  " + line[:300])
    return any(
        [
            f["joined"] != n,
            f["answered"] != n,
            verdict(f["join_all_s"], TARGETS["join_all"]) == "MISSED",
            verdict(f["answer_all_s"], TARGETS["answer_all"]) == "MISSED",
            verdict(f["click_p99_s"], TARGETS["click_p99"]) == "MISSED",
            verdict(f["count_after_last_write_s"], TARGETS["count_lag"]) == "MISSED",
        ]
    )


def server_errors(log: Path) -> Counter[str]:
    """The exception line ending each traceback in the server log, counted."""
    found: Counter[str] = Counter()
    lines = log.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("Traceback"):
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j] and not lines[j].startswith(" ")), None)
        found[lines[end] if end is not None else "Traceback"] += 1
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainees", type=int, default=120)
    parser.add_argument(
        "--postgres", action="store_true", help="a temporary database on the local PostgreSQL"
    )
    parser.add_argument(
        "--postgres-url", default=os.environ.get("REPAIRLAB_TEST_POSTGRES_URL") or DEFAULT_POSTGRES
    )
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO)
    parser.add_argument(
        "--answer-window", type=float, default=8.0, help="answers spread over this many seconds"
    )
    parser.add_argument("--join-ramp", type=float, default=0.0, help="arrivals spread over this many seconds")
    parser.add_argument("--settle", type=float, default=3.0, help="idle seconds with every session open")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one trainee action may take")
    parser.add_argument("--no-live", action="store_true", help="do not run the live fragments' timed reruns")
    parser.add_argument("--no-burst", action="store_true")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--app-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the app, e.g. STREAMLIT_RUNNER_FAST_RERUNS=false (repeatable)",
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="repairlab-group-load-"))
    postgres = TempPostgres(args.postgres_url) if args.postgres else None
    app = None
    try:
        if postgres is not None:
            postgres.__enter__()
        database_url = postgres.url if postgres else f"sqlite:///{workdir / 'app.db'}"
        extra_env = dict(item.split("=", 1) for item in args.app_env)
        app = start_app(workdir, database_url=database_url, extra_env=extra_env)
        figures = asyncio.run(run_load(app, database_url, args))
    except BaseException:
        print(f"The run failed; its folder and server log are kept in {workdir}", file=sys.stderr)
        raise
    finally:
        if app is not None:
            app.stop()
        if postgres is not None:
            postgres.__exit__(None, None, None)
    backend = "PostgreSQL" if postgres else "SQLite"
    missed = report(figures, args, backend)
    errors = server_errors(app.log) if app else Counter()
    log_errors = sum(errors.values())
    if errors:
        print(f"\nThe server log has {log_errors} error(s) ({app.log}):")  # type: ignore[union-attr]
        for line, count in errors.most_common(10):
            print(f"  {count} x {line[:200]}")
    if args.json:
        args.json.write_text(
            json.dumps(figures | {"backend": backend, "server_errors": dict(errors)}, indent=2)
        )
    if args.keep or log_errors:
        print(f"Kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if figures["errors"] or not figures["db"]["ok"]:
        return 1
    return 2 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
