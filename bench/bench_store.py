"""Store benchmark: concurrent writers recording choices, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_store.py [--threads 32] [--attempts 10]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-postgres]

For each backend it builds a temporary database (a SQLite file in a temp
folder; a `repairlab_bench_<random>` PostgreSQL database, dropped afterwards),
starts the attempts up front, then lets N threads (each its own sessions, as
N browser sessions would) play their attempts of the bundled scenarios to the
end through `PracticeService.choose`/`proceed`. Every call is one committed
write transaction; its wall time is the "wait" a trainee sees for a click to
be saved. Reported: recorded choices per second, p50/p99/worst wait, and the
same workload on a single writer thread as the baseline for the ratio.
It also checks that every step was stored exactly once.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from repairlab.db import Store  # noqa: E402
from repairlab.db.tables import AttemptStep  # noqa: E402
from repairlab.services.catalog import Catalog  # noqa: E402
from repairlab.services.practice import AttemptState, PracticeService  # noqa: E402

DEFAULT_PG = (
    os.environ.get("REPAIRLAB_TEST_POSTGRES_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass
class Result:
    writers: int
    choices: int
    seconds: float
    waits: list[float]
    errors: list[str]

    @property
    def throughput(self) -> float:
        return self.choices / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.waits)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="repairlab-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    admin = create_engine(
        server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 2}
    )
    name = f"repairlab_bench_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_writers(practice: PracticeService, attempts: list[list[AttemptState]], user_ids: list[int]) -> Result:
    """Each thread plays its own attempts to the end; every record call is timed."""
    waits: list[list[float]] = [[] for _ in attempts]
    errors: list[str] = []
    barrier = threading.Barrier(len(attempts) + 1)

    def writer(index: int) -> None:
        rng = random.Random(index)
        user_id = user_ids[index]
        barrier.wait()
        try:
            for state in attempts[index]:
                while not state.finished:
                    step = state.play.step
                    began = time.perf_counter()
                    if state.play.kind == "decision":
                        choice = rng.choice(state.play.offered_choices()).id
                        state = practice.choose(state.id, step, choice, user_id)
                    else:
                        state = practice.proceed(state.id, step, user_id)
                    waits[index].append(time.perf_counter() - began)
        except Exception as error:  # noqa: BLE001 - counted and reported
            errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    flat = [w for per_thread in waits for w in per_thread]
    return Result(len(attempts), len(flat), seconds, flat, errors)


def bench_backend(url: str, writers: int, attempts_per_writer: int) -> Result:
    store = Store(url)
    try:
        store.upgrade()
        catalog = Catalog(store, ROOT / "scenarios")
        practice = PracticeService(store, catalog)
        scenario_ids = [entry.scenario.id for entry in catalog.entries()]
        users = [practice.create_guest(f"Bench {n}") for n in range(writers)]
        attempts = [
            [
                practice.start(user.id, scenario_ids[(i + k) % len(scenario_ids)], "coached")
                for k in range(attempts_per_writer)
            ]
            for i, user in enumerate(users)
        ]
        result = run_writers(practice, attempts, [u.id for u in users])
        with store.read() as session:
            stored = session.scalar(select(func.count()).select_from(AttemptStep))
        if stored != result.choices and not result.errors:
            result.errors.append(f"{stored} rows stored for {result.choices} recorded steps")
        return result
    finally:
        store.dispose()


def report(name: str, concurrent: Result, single: Result) -> None:
    ms = 1000
    print(f"\n{name}")
    for label, result in (("concurrent", concurrent), ("baseline", single)):
        print(
            f"  {label:<10} {result.writers:>2} writer(s): {result.choices:>5} choices in {result.seconds:6.2f} s"
            f" = {result.throughput:7.1f} choices/s | wait p50 {result.quantile(0.5) * ms:6.1f} ms"
            f"  p99 {result.quantile(0.99) * ms:7.1f} ms  worst {max(result.waits) * ms:7.1f} ms"
            f"  mean {statistics.fmean(result.waits) * ms:6.1f} ms | errors {len(result.errors)}"
        )
        for error in result.errors[:5]:
            print(f"    error: {error}")
    print(f"  throughput ratio concurrent / single writer: {concurrent.throughput / single.throughput:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=32, help="concurrent writer threads (default 32)")
    parser.add_argument("--attempts", type=int, default=10, help="attempts played per thread (default 10)")
    parser.add_argument(
        "--postgres-url", default=DEFAULT_PG, help="server to create the temporary database on"
    )
    parser.add_argument("--no-postgres", action="store_true", help="benchmark SQLite only")
    args = parser.parse_args(argv)

    backends: list[tuple[str, Callable[[], object]]] = [
        ("SQLite (temp file, WAL, synchronous=FULL)", sqlite_database)
    ]
    if not args.no_postgres:
        backends.append(("PostgreSQL (temp database)", lambda: postgres_database(args.postgres_url)))
    print(f"{args.threads} writer threads x {args.attempts} attempts of the bundled scenarios each")
    failed = False
    for name, database in backends:
        try:
            with database() as url:  # type: ignore[attr-defined]
                concurrent = bench_backend(url, args.threads, args.attempts)
            with database() as url:  # type: ignore[attr-defined]
                single = bench_backend(url, 1, args.attempts * min(args.threads, 8))
        except Exception as error:  # noqa: BLE001 - e.g. no PostgreSQL server
            print(f"\n{name}: skipped ({type(error).__name__}: {str(error).splitlines()[0]})")
            continue
        report(name, concurrent, single)
        failed = failed or bool(concurrent.errors or single.errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
