"""How a spending-cap reservation excludes other machines' on PostgreSQL: the advisory
transaction lock think uses, against SERIALIZABLE with a bounded retry (issue 16: "measure and
choose").

N processes each try ``--reservations`` capped runs back to back through think's own
``reserve_run`` (settle dead runs, add up what the day spent and what running runs hold, write
the reservation), each run holding $0.10 while it "works" (``--hold`` seconds) and then
settling at $0.04, all under one ``daily_budget`` that fits only a few at once. Two ways:

* ``advisory``: think's engine (``BEGIN`` + ``pg_advisory_xact_lock`` on the caps);
* ``serializable``: the same code on an engine whose caps transactions are ``BEGIN
  ISOLATION LEVEL SERIALIZABLE`` with no lock, each transaction retried up to ``--retries``
  times on a serialization failure (SQLSTATE 40001), as PostgreSQL's documentation asks.

Each row: reservations per second, refusals (the cap, as it should), serialization retries,
transactions that failed after their retries, and whether the cap held: the day's settled
spend plus what was held never passed the cap at any commit (checked afterwards from the
rows: the sum of every run's cost must be within the cap plus nothing, since every run
settles below its reservation).

Run from the repository root: ``.venv/bin/python benchmarks/pg_cap_isolation.py [--procs 16]
[--reservations 20] [--pg-url URL]`` (default: a throwaway cluster in a temp dir).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from pg_ledger import capped_run, postgres  # noqa: E402  (benchmarks/pg_ledger.py)

from think.errors import LedgerError, SpendingCapReached  # noqa: E402
from think.ids import utc_now  # noqa: E402
from think.ledger.caps import Caps, reserve_run  # noqa: E402
from think.ledger.postgres import PostgresEngine  # noqa: E402
from think.ledger.store import Ledger  # noqa: E402
from think.pricing import Cost  # noqa: E402

CAP = Decimal("1.00")
HOLD = Decimal("0.10")
SPEND = HOLD  # a run spends all it held: a reservation that slipped past the cap shows


class SerializableEngine(PostgresEngine):
    """Caps transactions at SERIALIZABLE isolation, without the advisory lock."""

    def begin(self, *, write: bool, lock: Any = None) -> None:
        if write and lock == "caps":
            self.conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            return
        super().begin(write=write, lock=lock)


def _open(url: str, mode: str) -> Ledger:
    ledger = Ledger(url)
    if mode == "serializable":
        ledger.engine.close()
        ledger.engine = SerializableEngine(url, ledger.timeout)
    return ledger


def _retrying(action: Any, retries: int, counts: dict[str, int]) -> Any:
    for attempt in range(retries + 1):
        try:
            return action()
        except LedgerError as exc:
            if "could not serialize" not in str(exc) or attempt == retries:
                counts["failed"] += 1
                raise
            counts["retries"] += 1
    return None


def worker(
    url: str, mode: str, count: int, hold: float, retries: int, cap: Decimal, go: Any, done: Any
) -> None:
    ledger = _open(url, mode)
    counts = {"reserved": 0, "refused": 0, "retries": 0, "failed": 0}
    caps = Caps(daily=cap)
    go.wait()
    try:
        for _ in range(count):
            run = capped_run(HOLD)
            try:
                run = _retrying(lambda r=run: reserve_run(ledger, r, caps), retries, counts)
            except SpendingCapReached:
                counts["refused"] += 1
                continue
            except LedgerError:
                continue
            counts["reserved"] += 1
            time.sleep(hold)
            finished = replace(run, status="ok", finished_at=utc_now(), exit_code=0)
            settled = replace(finished, cost=Cost(SPEND, "computed"))
            try:
                _retrying(lambda s=settled: ledger.record_run(s), retries, counts)
            except LedgerError:
                continue
    finally:
        ledger.close()
        done.put(counts)


def measure(
    url: str, mode: str, procs: int, count: int, hold: float, retries: int, cap: Decimal
) -> dict[str, Any]:
    Ledger(url).close()  # migrated before the clock starts
    context = multiprocessing.get_context("spawn")
    go, done = context.Event(), context.Queue()
    workers = [
        context.Process(target=worker, args=(url, mode, count, hold, retries, cap, go, done))
        for _ in range(procs)
    ]
    for process in workers:
        process.start()
    time.sleep(2.0)  # every process imported and connected before the start
    start = time.perf_counter()
    go.set()
    totals = {"reserved": 0, "refused": 0, "retries": 0, "failed": 0}
    for _ in workers:
        for key, value in done.get(timeout=900).items():
            totals[key] += value
    elapsed = time.perf_counter() - start
    for process in workers:
        process.join()
    with Ledger(url) as ledger:
        row = ledger.one("SELECT count(*) AS n, sum(cost_usd) AS spent FROM runs")
        held = ledger.one("SELECT count(*) AS n FROM runs WHERE reserved_usd IS NOT NULL")
    spent = Decimal(repr(row["spent"] or 0)) if row else Decimal(0)
    return {
        **totals,
        "per_s": (totals["reserved"] + totals["refused"]) / elapsed,
        "spent": spent,
        "held_after": held["n"] if held else 0,
        "cap_held": spent <= cap + Decimal("1e-9"),  # the REAL column's float noise
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--procs", type=int, default=16)
    parser.add_argument("--reservations", type=int, default=20, help="per process")
    parser.add_argument("--hold", type=float, default=0.05, help="seconds a run holds")
    parser.add_argument("--retries", type=int, default=5)
    parser.add_argument("--cap", type=Decimal, default=CAP, help="daily_budget, USD")
    parser.add_argument("--pg-url", help="a server to use instead of a throwaway cluster")
    args = parser.parse_args()
    print(
        f"{args.procs} processes x {args.reservations} runs, each holding ${HOLD} for "
        f"{args.hold}s then spending ${SPEND}, daily cap ${args.cap}; up to {args.retries} retries"
    )
    print(
        f"{'mode':<13} {'decided/s':>9} {'reserved':>8} {'refused':>7} {'retries':>7} "
        f"{'failed':>6} {'spent $':>8} {'cap held':>8}"
    )
    with postgres(args.pg_url) as database:
        for mode in ("advisory", "serializable"):
            url = database(f"isolation_{mode}")
            got = measure(
                url, mode, args.procs, args.reservations, args.hold, args.retries, args.cap
            )
            print(
                f"{mode:<13} {got['per_s']:>9.1f} {got['reserved']:>8} {got['refused']:>7} "
                f"{got['retries']:>7} {got['failed']:>6} {got['spent']:>8.2f} "
                f"{'yes' if got['cap_held'] else 'NO':>8}"
            )


if __name__ == "__main__":
    main()
