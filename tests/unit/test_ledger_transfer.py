"""Runs copied between ledgers by their ids (``think ledger push`` and ``sync``), on both
engines: a row the target lacks is copied, a row it has is replaced only by a further
settled one, so copying twice counts once and nothing settled is un-settled."""

from __future__ import annotations

from pathlib import Path

from tests.ledger_support import finished_run, make_call, make_run, record
from think.ledger.store import Ledger
from think.ledger.transfer import copy_history

STARTED = "2025-01-02T03:04:05.000Z"


def statuses(ledger: Ledger, table: str) -> list[tuple[str, str]]:
    return [(r["id"], r["status"]) for r in ledger.rows(f"SELECT * FROM {table} ORDER BY id")]


def test_copying_twice_copies_once_and_never_unsettles(
    engine_ledger: Ledger, tmp_path: Path
) -> None:
    with Ledger(tmp_path / "source.db") as source:
        record(source, finished_run("a", STARTED), make_call("a"))
        source.record_run(make_run("b", started_at=STARTED))  # still running here
        source.record_call(make_call("b", status="running"))
        first = copy_history(source, engine_ledger, batch=1)
        assert (first.runs, first.calls, first.runs_there, first.calls_there) == (2, 2, 0, 0)
        again = copy_history(source, engine_ledger)
        assert (again.runs, again.calls, again.runs_there, again.calls_there) == (0, 0, 2, 2)

        # The target settles b (its real record arrived there); the source's older copy
        # does not take that back, and a's copy in the target is already as settled.
        record(engine_ledger, finished_run("b", STARTED, "0.02"), make_call("b"))
        third = copy_history(source, engine_ledger)
        assert (third.runs, third.calls) == (0, 0)
    assert statuses(engine_ledger, "runs") == [("a", "ok"), ("b", "ok")]
    assert statuses(engine_ledger, "calls") == [("a-1", "ok"), ("b-1", "ok")]


def test_a_finished_copy_replaces_an_abandoned_row_and_its_calls(
    engine_ledger: Ledger, tmp_path: Path
) -> None:
    engine_ledger.record_run(make_run("r", started_at=STARTED))
    engine_ledger.record_call(make_call("r", status="running"))
    with engine_ledger.immediate() as conn:  # as a lease expiry leaves it
        conn.execute("UPDATE runs SET status = 'abandoned', error = 'lease ran out'")
        conn.execute("UPDATE calls SET status = 'abandoned'")
    with Ledger(tmp_path / "spool.db") as spool:
        record(spool, finished_run("r", STARTED), make_call("r"))
        delivered: list[list[str]] = []
        copied = copy_history(spool, engine_ledger, delivered=delivered.append)
    assert (copied.runs, copied.calls) == (1, 1)
    assert delivered == [["r"]]
    (run,) = engine_ledger.rows("SELECT * FROM runs")
    assert (run["status"], run["error"]) == ("ok", None)
    assert statuses(engine_ledger, "calls") == [("r-1", "ok")]
