"""Copying runs and their calls from one ledger into another, idempotently by their ids.

One piece of code for ``think ledger push`` (a local ledger's history into a team's
database) and ``think ledger sync`` (runs spooled while the team's database was away, see
:mod:`think.ledger.spool`). Every column the two ledgers share is copied, so columns a newer
migration added come along. A row the target lacks is inserted; a row it has is replaced only
when the copy is further settled (``running`` < ``abandoned`` < every finished status): the
real record of a run replaces the ``abandoned`` a lease expiry gave it, with its calls, and a
run settled in the target is never un-settled by an older copy. Copying the same rows twice
changes nothing the second time. Each batch of runs is one write transaction on the target,
taken with the caps' lock (a run that arrives settles its reservation there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from think.ledger.store import upsert_sql

if TYPE_CHECKING:
    from think.ledger.engine import Engine
    from think.ledger.store import Ledger

BATCH_RUNS = 500
"""Runs copied per transaction on the target (and read per query from the source)."""


def _settled(row: str) -> str:
    """How far a row's status has settled, in SQL: 0 running, 1 abandoned, 2 finished."""
    return f"(CASE {row}.status WHEN 'running' THEN 0 WHEN 'abandoned' THEN 1 ELSE 2 END)"


def copy_sql(table: str, columns: tuple[str, ...]) -> str:
    """Insert a row, or replace the target's row with the same id when this one is further
    settled."""
    return f"{upsert_sql(table, columns)} WHERE {_settled('excluded')} > {_settled(table)}"


@dataclass
class Copied:
    """How many runs and calls a copy wrote, and how many the target had already."""

    runs: int = 0
    calls: int = 0
    runs_there: int = 0
    calls_there: int = 0

    @property
    def rows(self) -> int:
        """Every row the source held: copied, or already there."""
        return self.runs + self.calls + self.runs_there + self.calls_there

    def document(self) -> dict[str, int]:
        return {
            "runs_copied": self.runs,
            "calls_copied": self.calls,
            "runs_already_there": self.runs_there,
            "calls_already_there": self.calls_there,
        }


def shared_columns(source: Ledger, target: Ledger, table: str) -> tuple[str, ...]:
    """The columns of ``table`` both ledgers have, in the source's order."""
    try:
        theirs = set(target.engine.columns(table))
    except target.engine.errors as exc:
        raise target.error(exc, "read") from None
    try:
        ours = source.engine.columns(table)
    except source.engine.errors as exc:
        raise source.error(exc, "read") from None
    return tuple(name for name in ours if name in theirs)


def _write(conn: Engine, table: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> int:
    return conn.execute_many(copy_sql(table, columns), [[row[c] for c in columns] for row in rows])


def copy_history(
    source: Ledger,
    target: Ledger,
    *,
    delivered: Callable[[list[str]], None] | None = None,
    batch: int = BATCH_RUNS,
) -> Copied:
    """Copy every run of ``source`` and its calls into ``target``, in batches of runs by id;
    ``delivered`` is told, after each batch commits, the ids of its runs that had settled
    in the source (those no process will write again)."""
    run_columns = shared_columns(source, target, "runs")
    call_columns = shared_columns(source, target, "calls")
    copied = Copied()
    last = ""
    while True:
        runs = list(
            source.rows("SELECT * FROM runs WHERE id > ? ORDER BY id LIMIT ?", [last, batch])
        )
        if not runs:
            return copied
        last = runs[-1]["id"]
        ids = [run["id"] for run in runs]
        marks = ", ".join("?" for _ in ids)
        calls = list(source.rows(f"SELECT * FROM calls WHERE run_id IN ({marks}) ORDER BY id", ids))
        with target.immediate("copy runs to", lock="caps") as conn:
            wrote_runs = _write(conn, "runs", run_columns, runs)
            wrote_calls = _write(conn, "calls", call_columns, calls)
        copied.runs += wrote_runs
        copied.runs_there += len(runs) - wrote_runs
        copied.calls += wrote_calls
        copied.calls_there += len(calls) - wrote_calls
        if delivered is not None:
            delivered([run["id"] for run in runs if run["status"] != "running"])
