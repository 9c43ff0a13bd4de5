"""Cohort dashboard benchmark (a script, not a test): `.venv/bin/python bench/bench_analytics.py`.

For each backend (SQLite in a temp file; PostgreSQL in a temp database on
REPAIRLAB_TEST_POSTGRES_URL's server, default the local one, dropped
afterwards) it:

1. generates a program with `repairlab.demo` (default 10 cohorts x 50 trainees
   = 500 trainees x 40 attempts, seed 1) and reports its size and how long
   that took, then how long the first summary of every attempt takes
   (`analytics_summary`, done once per database, in short batches);
2. runs the dashboard page in Streamlit's AppTest for an administrator (the
   whole program) and for one cohort's supervisor, and reports the server
   time per rerun: *uncached* (the dashboard's caches cleared before each
   run) and *cached*, median and worst of ``--runs`` runs, wall clock and the
   process's CPU time (the machine is shared: CPU time shows the work itself
   when the wall clock includes waiting for a core), and the full garbage
   collections that fell within those runs (~100 ms each: they make most
   "worst" figures; `gc.freeze()` after start-up shrinks them to ~10 ms);
3. measures what new practice costs the next uncached rerun: ``--new``
   attempts completed at once (copies of existing ones), then the summary
   refresh (sync check and summarising them) and the whole rerun;
4. compares the SQL aggregation (`AnalyticsService.dashboard`, both methods)
   with reading the raw choice table into pandas (`pandas.read_sql` of every
   choice step with its per-dimension scores), and prints the ratio.

Targets (issue 6): <= 250 ms uncached, <= 100 ms cached per rerun.
Options: ``--backend sqlite|postgres|both``, ``--cohorts``, ``--trainees``
(per cohort), ``--attempts``, ``--seed``, ``--runs``, ``--new``, ``--keep``
(keep the SQLite file and print its URL).
"""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from sqlalchemy import create_engine, func, insert, literal, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from repairlab.db import Store  # noqa: E402
from repairlab.db.tables import Attempt, AttemptStep, CohortMember, User, utcnow  # noqa: E402
from repairlab.demo import generate  # noqa: E402
from repairlab.services.access import Viewer  # noqa: E402
from repairlab.services.analytics import AnalyticsService, Filters  # noqa: E402
from repairlab.services.analytics_summary import AnalyticsSummary  # noqa: E402

APP = ROOT / "tests" / "analytics" / "dashboard_app.py"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
END = date(2026, 6, 30)
UNCACHED_TARGET = 250.0
CACHED_TARGET = 100.0

RAW_CHOICES = """
SELECT a.id AS attempt_id, a.user_id, a.scenario_id, a.content_hash, a.completed_at, a.score AS attempt_score,
       s.step_no, s.node_id, s.choice_id, s.score, s.best_score, s.zone, s.created_at,
       d.dimension, d.value
FROM attempt_steps s
JOIN attempts a ON a.id = s.attempt_id
JOIN step_scores d ON d.attempt_id = s.attempt_id AND d.step_no = s.step_no
WHERE s.choice_id IS NOT NULL AND a.status = 'completed'
"""


def ms(seconds: float) -> float:
    return seconds * 1000.0


@contextmanager
def sqlite_database(keep: bool) -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="repairlab-bench-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    try:
        yield url
    finally:
        if keep:
            print(f"  kept {url}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_database() -> Iterator[str]:
    server = make_url(os.environ.get("REPAIRLAB_TEST_POSTGRES_URL") or DEFAULT_PG)
    admin = create_engine(
        server, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 3}
    )
    name = f"repairlab_bench_{secrets.token_hex(5)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def full_collections() -> Iterator[list[float]]:
    """The duration (ms) of each full garbage collection while the block runs: one costs ~100 ms in
    a process with Streamlit, plotly and pandas loaded, and explains most "worst" runs."""
    found: list[float] = []
    began: list[float] = []

    def watch(phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            began.append(time.perf_counter())
        elif began:
            found.append(ms(time.perf_counter() - began.pop()))

    gc.callbacks.append(watch)
    try:
        yield found
    finally:
        gc.callbacks.remove(watch)


def timed(
    run: Callable[[], object], repeat: int, before: Callable[[], None] | None = None
) -> tuple[list, list, list]:
    walls, cpus = [], []
    with full_collections() as collections:
        for _ in range(repeat):
            if before:
                before()
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            walls.append(ms(time.perf_counter() - wall))
            cpus.append(ms(time.process_time() - cpu))
    return walls, cpus, collections


def describe(walls: list[float], cpus: list[float], collections: list[float], target: float) -> str:
    median = statistics.median(walls)
    verdict = "meets" if median <= target else "misses"
    full_gc = f"; {len(collections)} full GC ({sum(collections):.0f} ms)" if collections else ""
    return (
        f"median {median:7.0f} ms, worst {max(walls):7.0f} ms (CPU median {statistics.median(cpus):6.0f} ms{full_gc})"
        f"  -> {verdict} the {target:.0f} ms target"
    )


def viewers(url: str) -> list[tuple[str, Viewer]]:
    store = Store(url)
    try:
        with store.read() as session:
            admin = session.scalar(select(User.id).where(User.role == "admin").order_by(User.id).limit(1))
            supervisor, cohort_trainees = session.execute(
                select(CohortMember.user_id, func.count())
                .select_from(CohortMember)
                .join(User, User.id == CohortMember.user_id)
                .where(User.role == "supervisor")
                .group_by(CohortMember.user_id)
                .order_by(CohortMember.user_id.desc())
                .limit(1)
            ).one()
            trainees = session.scalar(select(func.count()).select_from(User).where(User.role == "trainee"))
    finally:
        store.dispose()
    return [
        (f"administrator, whole program ({trainees} trainees)", Viewer(admin, "admin")),
        ("supervisor, one cohort", Viewer(supervisor, "supervisor")),
    ]


def open_page(url: str, viewer: Viewer):  # type: ignore[no-untyped-def]
    from streamlit.testing.v1 import AppTest

    from ui.context import get_services

    os.environ["REPAIRLAB_DATABASE_URL"] = url
    get_services.clear()
    app = AppTest.from_file(str(APP), default_timeout=300)
    app.query_params.update({"viewer": str(viewer.user_id), "role": viewer.role})
    app.run()  # imports, migrations check, first connection
    if app.exception:
        raise SystemExit(f"the dashboard raised: {app.exception}")
    return app


def clear_page_caches() -> None:
    from ui import dashboard_view

    dashboard_view._dashboard.clear()
    dashboard_view._board.clear()
    dashboard_view._cohorts.clear()
    dashboard_view._scenarios.clear()


def close_page() -> None:
    from ui.context import get_services

    get_services().store.dispose()
    get_services.clear()


def bench_page(url: str, viewer: Viewer, runs: int) -> tuple[tuple, tuple]:
    gc.collect()  # start from a clean heap: the generator and earlier runs leave garbage behind
    app = open_page(url, viewer)
    gc.freeze()  # as the server's start-up hook (streamlit_app.py) does once the app is loaded
    try:
        uncached = timed(app.run, runs, before=clear_page_caches)
        app.run()
        cached = timed(app.run, runs)
    finally:
        gc.unfreeze()
    close_page()
    return uncached, cached


def complete_copies(url: str, count: int) -> None:
    """`count` new completed attempts, as if just finished: copies of existing ones, with their steps."""
    store = Store(url)
    try:
        with store.write() as session:
            old = session.scalars(
                select(Attempt.id).where(Attempt.status == "completed").order_by(Attempt.id).limit(count)
            ).all()
            now = utcnow()
            for attempt_id in old:
                new = f"bench-{secrets.token_hex(8)}"
                columns = [c for c in Attempt.__table__.columns if c.name != "id"]
                values = [
                    literal(now, type_=c.type) if c.name in ("updated_at", "completed_at") else c
                    for c in columns
                ]
                session.execute(
                    insert(Attempt.__table__).from_select(
                        ["id", *(c.name for c in columns)],
                        select(literal(new), *values).where(Attempt.id == attempt_id),
                    )
                )
                step_columns = [c for c in AttemptStep.__table__.columns if c.name != "attempt_id"]
                session.execute(
                    insert(AttemptStep.__table__).from_select(
                        ["attempt_id", *(c.name for c in step_columns)],
                        select(literal(new), *step_columns).where(AttemptStep.attempt_id == attempt_id),
                    )
                )
    finally:
        store.dispose()


def bench_new_practice(url: str, viewer: Viewer, count: int, runs: int) -> None:
    """The first uncached rerun after `count` attempts were completed: summary refresh and rerun."""
    app = open_page(url, viewer)
    walls, cpus, rerun_walls, rerun_cpus = [], [], [], []
    summary = AnalyticsSummary(Store(url))  # as a running app's: it has refreshed before
    summary.refresh()
    for _ in range(max(1, runs // 2)):
        complete_copies(url, count)
        wall, cpu = time.perf_counter(), time.process_time()
        summary.refresh()
        walls.append(ms(time.perf_counter() - wall))
        cpus.append(ms(time.process_time() - cpu))
        complete_copies(url, count)  # again, for the page's own refresh
        clear_page_caches()
        wall, cpu = time.perf_counter(), time.process_time()
        app.run()
        rerun_walls.append(ms(time.perf_counter() - wall))
        rerun_cpus.append(ms(time.process_time() - cpu))
    summary.store.dispose()
    close_page()
    print(
        f"  {count} new completed attempts: summary refresh median {statistics.median(walls):.0f} ms "
        f"(CPU {statistics.median(cpus):.0f} ms); the whole uncached rerun median "
        f"{statistics.median(rerun_walls):.0f} ms (CPU {statistics.median(rerun_cpus):.0f} ms)"
    )


def bench_raw_vs_sql(url: str, viewer: Viewer, runs: int) -> None:
    store = Store(url)
    try:
        with store.read_engine.connect() as connection:
            walls, _, _ = timed(lambda: pd.read_sql(text(RAW_CHOICES), connection), max(1, runs // 2))
            frame = pd.read_sql(text(RAW_CHOICES), connection)
        raw = statistics.median(walls)
        memory = frame.memory_usage(deep=True).sum() / 2**20
        print(
            f"  raw choice table into pandas: {len(frame):,} rows ({memory:.0f} MiB) in median {raw:.0f} ms"
        )
        for method in ("auto", "window"):
            analytics = AnalyticsService(store, method=method)
            analytics.dashboard(viewer, Filters())
            walls, cpus, _ = timed(lambda a=analytics: a.dashboard(viewer, Filters()), runs)
            sql = statistics.median(walls)
            print(
                f"  SQL aggregation ({method:6}): every dashboard aggregate in median {sql:.0f} ms "
                f"(CPU {statistics.median(cpus):.0f} ms); raw read / aggregation = {raw / sql:.1f}x"
            )
    finally:
        store.dispose()


def bench_backend(name: str, url: str, args: argparse.Namespace) -> None:
    print(f"\n== {name} ==")
    began = time.perf_counter()
    summary = generate(url, args.cohorts, args.trainees, args.attempts, args.seed, end=END)
    print(
        f"  demo data: {summary.trainees} trainees, {summary.attempts:,} attempts ({summary.completed:,} completed), "
        f"{summary.steps:,} steps, {summary.choices:,} choices, written in {time.perf_counter() - began:.1f} s"
    )
    store = Store(url)
    wall, cpu = time.perf_counter(), time.process_time()
    added = AnalyticsSummary(store).refresh()
    store.dispose()
    print(
        f"  first summary of {added:,} attempts (once per database): {time.perf_counter() - wall:.1f} s "
        f"(CPU {time.process_time() - cpu:.1f} s)"
    )
    for label, viewer in viewers(url):
        uncached, cached = bench_page(url, viewer, args.runs)
        print(f"  dashboard rerun, {label}:")
        print(f"    uncached: {describe(*uncached, UNCACHED_TARGET)}")
        print(f"    cached:   {describe(*cached, CACHED_TARGET)}")
    if args.new:
        bench_new_practice(url, viewers(url)[0][1], args.new, args.runs)
    bench_raw_vs_sql(url, viewers(url)[0][1], args.runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--cohorts", type=int, default=10)
    parser.add_argument("--trainees", type=int, default=50, help="trainees per cohort")
    parser.add_argument("--attempts", type=int, default=40, help="attempts per trainee")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--new", type=int, default=20, help="attempts completed before the new-practice rerun (0: skip)"
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the start")
    if args.backend in ("sqlite", "both"):
        with sqlite_database(args.keep) as url:
            bench_backend("SQLite", url, args)
    if args.backend in ("postgres", "both"):
        try:
            with postgres_database() as url:
                bench_backend("PostgreSQL", url, args)
        except Exception as error:  # noqa: BLE001 - no server: say so and stop
            if "connect" not in str(error).lower():
                raise
            print(f"\n== PostgreSQL ==\n  skipped: no server answered ({str(error).splitlines()[0]})")
    load = os.getloadavg()
    print(f"\nload average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
