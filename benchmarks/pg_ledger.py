"""A team's ledger on PostgreSQL: spending-cap reservations under concurrency, and
``think ledger stats`` over 1,000,000 runs.

(a) ``--procs`` processes (16) at once, each reserving and settling ``--reservations``
spending-cap reservations in a row through think's own code (``reserve_run``, then the
finished run's ``record_run``, as a capped run does), on a SQLite file and on PostgreSQL:
reservations per second, all processes together.

(b) ``--runs`` runs (1,000,000, with their calls, over 90 days, 8 users on 4 hosts and one
user with a few old runs) copied
into PostgreSQL (COPY, indexes built afterwards, then VACUUM ANALYZE as autovacuum would),
then ``think ledger stats`` and its neighbours timed as subprocesses (median of
``--repeat``), the plans of their main queries, and ``think ledger --user`` without and with
migration 9's index ``idx_runs_user``.

PostgreSQL is a throwaway cluster in a temp dir (tests/postgres_support.py), with
``fsync`` on as a real server has it (SQLite: WAL, ``synchronous=NORMAL``, think's
settings). Run from the repository root:
``.venv/bin/python benchmarks/pg_ledger.py [--procs 16] [--runs 1000000]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from ledger import measure, synthetic_run, think_command  # noqa: E402  (benchmarks/ledger.py)

from tests.postgres_support import server_binaries, throwaway_cluster  # noqa: E402
from think import events  # noqa: E402
from think.ids import new_run_id, utc_now  # noqa: E402
from think.ledger.caps import Caps, reserve_run  # noqa: E402
from think.ledger.rows import call_row, run_row  # noqa: E402
from think.ledger.schema import CALL_COLUMNS, RUN_COLUMNS  # noqa: E402
from think.ledger.store import Ledger  # noqa: E402
from think.periods import iso  # noqa: E402
from think.pricing import Cost  # noqa: E402

USERS = [f"user{n}" for n in range(8)]
HOSTS = [f"runner-{n}" for n in range(4)]
FORMER = "former"
"""A user with few runs, all in the first ten of the 90 days (someone who left): the
``--user`` listing that needs an index."""
CAPS = Caps(daily=Decimal(900_000), monthly=Decimal(900_000))
"""Caps no run here reaches: every reservation is the whole sum-and-insert, none refused."""


# -- (a) reservations per second ----------------------------------------------------------


def capped_run(max_cost: Decimal) -> events.RunRecord:
    """A run about to reserve ``max_cost`` against the caps (what a query's start is)."""
    return events.RunRecord(
        id=new_run_id(),
        started_at=utc_now(),
        prompt="benchmark",
        strategy="single",
        status="running",
        models=("openai:gpt-4o-mini",),
        max_cost_usd=max_cost,
    )


def reserve_and_settle(location: str, worker: int, count: int, go: Any, done: Any) -> None:
    """One process: ``count`` capped runs' reservations and settlements, back to back."""
    ledger = Ledger(location, user=USERS[worker % len(USERS)])
    refused = 0
    go.wait()
    try:
        for _ in range(count):
            try:
                run = reserve_run(ledger, capped_run(Decimal("0.01")), CAPS)
            except Exception:
                refused += 1
                continue
            finished = replace(run, status="ok", finished_at=utc_now(), exit_code=0)
            ledger.record_run(replace(finished, cost=Cost(Decimal("0.004"), "computed")))
    finally:
        ledger.close()
        done.put(refused)


def reservations_per_second(location: str, procs: int, count: int) -> tuple[float, int]:
    """All processes reserving at once: (reservations per second, refused)."""
    Ledger(location).close()  # migrated before the clock starts
    context = multiprocessing.get_context("spawn")
    go, done = context.Event(), context.Queue()
    workers = [
        context.Process(target=reserve_and_settle, args=(location, i, count, go, done))
        for i in range(procs)
    ]
    for worker in workers:
        worker.start()
    time.sleep(2.0)  # every process imported and connected before the start
    start = time.perf_counter()
    go.set()
    refused = sum(done.get(timeout=600) for _ in workers)
    elapsed = time.perf_counter() - start
    for worker in workers:
        worker.join()
    return (procs * count - refused) / elapsed, refused


# -- (b) a million runs on PostgreSQL -----------------------------------------------------


def _copy_text(value: object) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _line(row: dict[str, Any], columns: list[str], slots: set[str]) -> str:
    """A COPY text line of ``row``, with ``{name}`` left for the ``slots`` filled per run."""
    cells = [
        "{" + name + "}"
        if name in slots
        else _copy_text(row.get(name)).replace("{", "{{").replace("}", "}}")
        for name in columns
    ]
    return "\t".join(cells) + "\n"


def _templates(count: int) -> list[tuple[str, list[str]]]:
    """``count`` synthetic runs (benchmarks/ledger.py) as COPY lines: the run's and its
    calls', with slots for the id, the time, the user and the host."""
    rng = random.Random(42)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    run_slots = {"id", "started_at", "finished_at", "username", "reserved_host"}
    call_slots = {"id", "run_id", "started_at"}
    found = []
    for _ in range(count):
        run, calls = synthetic_run(rng, moment)
        row = run_row(run)
        row.update(reserved_pid=1, reserved_host=None)
        found.append(
            (
                _line(row, list(RUN_COLUMNS), run_slots),
                [_line(call_row(call), list(CALL_COLUMNS), call_slots) for call in calls],
            )
        )
    return found


def _chunks(runs: int, templates: list[tuple[str, list[str]]]) -> Iterator[tuple[str, str]]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    first = now - timedelta(days=90)
    step = 90 * 86400 / runs
    run_lines: list[str] = []
    call_lines: list[str] = []
    for i in range(runs):
        run_line, calls = templates[i % len(templates)]
        run_id = f"{rng.getrandbits(64):016x}"
        started = first + timedelta(seconds=i * step)
        stamp = iso(started)
        run_lines.append(
            run_line.format(
                id=run_id,
                started_at=stamp,
                finished_at=iso(started + timedelta(seconds=3)),
                username=FORMER if i < runs // 9 and i % 500 == 0 else USERS[i % len(USERS)],
                reserved_host=HOSTS[i % len(HOSTS)],
            )
        )
        for seq, call_line in enumerate(calls, 1):
            call_lines.append(
                call_line.format(id=f"{run_id}-{seq:03d}", run_id=run_id, started_at=stamp)
            )
        if len(run_lines) == 20_000:
            yield "".join(run_lines), "".join(call_lines)
            run_lines, call_lines = [], []
    if run_lines:
        yield "".join(run_lines), "".join(call_lines)


def fill(url: str, runs: int) -> tuple[int, float]:
    """``runs`` runs and their calls, copied in with the secondary indexes dropped and built
    again afterwards; (calls written, seconds)."""
    import psycopg

    Ledger(url).close()  # the schema, by think's own migrations
    start = time.perf_counter()
    templates = _templates(2000)
    calls = 0
    with psycopg.connect(url, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('runs', 'calls') "
            "AND indexname NOT LIKE '%pkey'"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')  # type: ignore[arg-type]
        run_copy = f"COPY runs ({', '.join(RUN_COLUMNS)}) FROM STDIN"
        call_copy = f"COPY calls ({', '.join(CALL_COLUMNS)}) FROM STDIN"
        with conn.transaction():
            for run_text, call_text in _chunks(runs, templates):
                with conn.cursor().copy(run_copy) as copy:  # type: ignore[arg-type]
                    copy.write(run_text)
                with conn.cursor().copy(call_copy) as copy:  # type: ignore[arg-type]
                    copy.write(call_text)
                calls += call_text.count("\n")
        for _, definition in indexes:
            conn.execute(definition)  # type: ignore[arg-type]
        conn.execute("VACUUM ANALYZE runs")
        conn.execute("VACUUM ANALYZE calls")
    return calls, time.perf_counter() - start


def explain(url: str, sql: str, params: list[object]) -> list[str]:
    """The plan PostgreSQL runs ``sql`` (portable SQL, ``?``) by, with its actual times."""
    import psycopg

    from think.ledger.postgres import placeholders

    with psycopg.connect(url) as conn:
        conn.execute("SET jit = off")  # as think's sessions
        rows = conn.execute(
            f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {placeholders(sql)}",  # type: ignore[arg-type]
            params,
        ).fetchall()
    return [row[0] for row in rows]


def query_ms(url: str, sql: str, params: list[object], jit: str) -> float:
    """Median milliseconds of ``sql`` over 5 runs in a session with ``jit`` on or off."""
    import statistics

    import psycopg

    from think.ledger.postgres import placeholders

    with psycopg.connect(url) as conn:
        conn.execute(f"SET jit = {jit}")  # type: ignore[arg-type]
        times = []
        for _ in range(5):
            start = time.perf_counter()
            conn.execute(placeholders(sql), params).fetchall()  # type: ignore[arg-type]
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main_queries(since: str, day_end: str) -> dict[str, tuple[str, list[object]]]:
    from think.ledger import stats
    from think.ledger.queries import RunFilter, listing_columns

    day = f"SELECT {stats._RUN_AGGREGATES} FROM runs WHERE started_at >= ? AND started_at < ?"
    by_model = (
        "SELECT provider, model, count(*) AS calls, sum(cost_usd) AS spent, "
        "sum(CASE WHEN cost_usd IS NULL THEN 1 ELSE 0 END) AS unknown_cost "
        "FROM calls WHERE started_at >= ? GROUP BY provider, model"
    )
    reuse = (
        "SELECT count(*) AS n, sum(o.cost_usd) AS saved FROM runs r "
        "LEFT JOIN runs o ON o.id = r.reused_from "
        "WHERE r.status = 'reused' AND r.started_at >= ?"
    )

    class _Pg:
        name = "postgresql"

    where, params = RunFilter(user=FORMER).where(_Pg())  # type: ignore[arg-type]
    listing = (
        f"SELECT {listing_columns(1000)} FROM runs WHERE {where} "
        "ORDER BY started_at DESC, id DESC LIMIT ?"
    )
    return {
        "stats: one day's aggregate (x90 for --json)": (day, [since, day_end]),
        "stats: reused answers": (reuse, [""]),
        "stats --by model: calls grouped": (by_model, [""]),
        "ledger --user NAME: newest 20": (listing, [*params, 20]),
    }


def time_commands(url: str, cases: dict[str, list[str]], repeat: int) -> None:
    env = {**os.environ, "THINK_LEDGER": url, "NO_COLOR": "1", "COLUMNS": "100"}
    env["THINK_CONFIG"] = str(Path(tempfile.gettempdir()) / "think-bench-none.toml")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'command':<44} {'wall s':>7} {'cpu s':>7}")
    for name, command in cases.items():
        measure(command, env, 1)  # warm the caches
        wall_s, cpu_s = measure(command, env, repeat)
        print(f"{name:<44} {wall_s:>7.3f} {cpu_s:>7.3f}")


@contextmanager
def postgres(url: str | None) -> Iterator[Any]:
    """A way to new databases: on ``url``'s server, else on a throwaway cluster."""
    import psycopg

    if url is not None:
        base = url
        yield lambda name: _create(psycopg, base, name)
        return
    bin_dir = server_binaries()
    if bin_dir is None:
        raise SystemExit("PostgreSQL's initdb is not installed (/usr/lib/postgresql/*/bin)")
    with throwaway_cluster(bin_dir, fsync=True) as server:
        yield lambda name: _create(psycopg, server.url(), name)


def _create(psycopg: Any, url: str, name: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--procs", type=int, default=16)
    parser.add_argument("--reservations", type=int, default=100, help="per process")
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg-url", help="a server to use instead of a throwaway cluster")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}\n")
    with postgres(args.pg_url) as database, tempfile.TemporaryDirectory() as tmp:
        print(f"(a) reserve + settle, {args.reservations} reservations per process")
        print(f"{'ledger':<12} {'procs':>5} {'reservations/s':>15} {'refused':>8}")
        for procs in sorted({1, args.procs}):
            total = procs * args.reservations
            for engine, location in (
                ("sqlite", str(Path(tmp) / f"ledger-{procs}.db")),
                ("postgresql", database(f"bench_reserve_{procs}")),
            ):
                rate, refused = reservations_per_second(location, procs, args.reservations)
                print(
                    f"{engine:<12} {procs:>5} {rate:>15.0f} {refused:>8}"
                    f"  ({total} in {total / rate:.1f} s)"
                )

        url = database("bench_stats")
        calls, seconds = fill(url, args.runs)
        print(f"\n(b) filled {args.runs:,} runs and {calls:,} calls in {seconds:.1f} s")
        think = think_command()
        user_listing = [*think, "ledger", "--user", FORMER, "--json"]
        cases = {
            "think ledger stats --json (all 90 days)": [*think, "ledger", "stats", "--json"],
            "think ledger stats (last 30 days, table)": [*think, "ledger", "stats"],
            "think ledger stats --by model --json": [
                *think,
                "ledger",
                "stats",
                "--by",
                "model",
                "--json",
            ],
            "think ledger stats --by strategy --json": [
                *think,
                "ledger",
                "stats",
                "--by",
                "strategy",
                "--json",
            ],
            "think ledger (newest 20)": [*think, "ledger"],
            "think ledger --user NAME --json": user_listing,
            "think ledger --host NAME --json": [*think, "ledger", "--host", HOSTS[1], "--json"],
        }
        time_commands(url, cases, args.repeat)
        now = datetime.now(UTC)
        queries = main_queries(iso(now - timedelta(days=2)), iso(now - timedelta(days=1)))
        for name, (sql, params) in queries.items():
            print(f"\nEXPLAIN ANALYZE {name}")
            print("\n".join("  " + line for line in explain(url, sql, params)))

        import psycopg

        print("\none day's aggregate in-process, median of 5 (think's sessions run jit = off):")
        day_sql, day_params = queries["stats: one day's aggregate (x90 for --json)"]
        for jit in ("on", "off"):
            print(f"  jit = {jit}: {query_ms(url, day_sql, day_params, jit):.1f} ms")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP INDEX idx_runs_user")
            conn.execute("ANALYZE runs")
        print("\nwithout idx_runs_user (migration 9):")
        time_commands(url, {"think ledger --user NAME --json": user_listing}, args.repeat)
        sql, params = queries["ledger --user NAME: newest 20"]
        print("\n".join("  " + line for line in explain(url, sql, params)))


if __name__ == "__main__":
    main()
