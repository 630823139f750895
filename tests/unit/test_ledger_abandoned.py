"""Runs whose process ended before they finished become ``abandoned`` when the next run
starts, keeping the cost of the calls they recorded (a real SQLite file; real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.ledger_support import make_call, make_run
from think.ledger.abandoned import ABANDONED, ABANDONED_ERROR, RESERVATION_EXPIRED, this_host
from think.ledger.store import Ledger
from think.periods import iso
from think.pricing import Cost

NOW = datetime.now(UTC)


@pytest.fixture
def ledger(engine_ledger: Ledger) -> Ledger:
    """Each test on a SQLite file and on a PostgreSQL database."""
    return engine_ledger


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def started(
    ledger: Ledger, run_id: str, *, pid: int | None, host: str | None, ago: timedelta
) -> None:
    """A run that started ``ago`` in process ``pid`` on ``host`` and made one $0.10 call."""
    ledger.record_run(make_run(run_id, started_at=iso(NOW - ago), max_cost_usd=None))
    ledger.record_call(make_call(run_id, 1, cost=Cost(Decimal("0.10"), "computed")))
    ledger.conn.execute(
        "update runs set reserved_pid = ?, reserved_host = ? where id = ?", [pid, host, run_id]
    )


def status(ledger: Ledger, run_id: str) -> tuple[str, float | None, str | None]:
    row = ledger.one("select status, cost_usd, error from runs where id = ?", [run_id])
    assert row is not None
    return row["status"], row["cost_usd"], row["error"]


def test_a_starting_run_records_its_process(ledger: Ledger) -> None:
    ledger.record_run(make_run("mine", started_at=iso(NOW), max_cost_usd=None))
    row = ledger.one("select reserved_pid, reserved_host, reserved_usd from runs")
    assert row == {"reserved_pid": os.getpid(), "reserved_host": this_host(), "reserved_usd": None}


def test_a_run_whose_process_died_is_abandoned_when_the_next_starts(ledger: Ledger) -> None:
    started(ledger, "killed", pid=dead_pid(), host=this_host(), ago=timedelta(minutes=2))
    assert status(ledger, "killed") == ("running", None, None)
    ledger.record_run(make_run("next", started_at=iso(NOW), max_cost_usd=None))
    assert status(ledger, "killed") == (ABANDONED, pytest.approx(0.10), ABANDONED_ERROR)
    assert status(ledger, "next")[0] == "running"


@pytest.mark.parametrize(
    ("pid", "host", "ago", "outcome"),
    [
        ("live", "here", timedelta(hours=5), "running"),  # still working
        (1, "elsewhere", timedelta(hours=5), "running"),  # cannot be checked: waits
        (1, "elsewhere", timedelta(hours=25), ABANDONED),  # a day old: gone anywhere
        ("live", "here", timedelta(hours=25), ABANDONED),
        (None, None, timedelta(hours=5), "running"),  # recorded before migration 3
        (None, None, timedelta(hours=25), ABANDONED),
    ],
)
def test_live_remote_and_old_runs(
    ledger: Ledger, pid: object, host: str | None, ago: timedelta, outcome: str
) -> None:
    started(
        ledger,
        "other",
        pid=os.getpid() if pid == "live" else pid,  # type: ignore[arg-type]
        host=this_host() if host == "here" else host,
        ago=ago,
    )
    ledger.record_run(make_run("next", started_at=iso(NOW), max_cost_usd=None))
    assert status(ledger, "other")[0] == outcome


def test_finished_runs_are_never_touched(ledger: Ledger) -> None:
    started(ledger, "done", pid=dead_pid(), host=this_host(), ago=timedelta(days=3))
    ledger.conn.execute("update runs set status = 'ok', cost_usd = 0.25 where id = 'done'")
    ledger.record_run(make_run("next", started_at=iso(NOW), max_cost_usd=None))
    assert status(ledger, "done") == ("ok", 0.25, None)


def test_a_dead_runs_reservation_expires_at_the_next_start_even_without_caps(
    ledger: Ledger,
) -> None:
    started(ledger, "capped", pid=dead_pid(), host=this_host(), ago=timedelta(minutes=2))
    ledger.conn.execute(
        "update runs set reserved_usd = 0.5, reserved_at = ? where id = 'capped'", [iso(NOW)]
    )
    ledger.record_run(make_run("next", started_at=iso(NOW), max_cost_usd=None))  # no caps
    assert status(ledger, "capped") == (ABANDONED, pytest.approx(0.10), RESERVATION_EXPIRED)
    assert ledger.one("select reserved_usd from runs where id = 'capped'") == {"reserved_usd": None}
