"""Runs whose process ended before they finished: marked ``abandoned``, their spend kept.

A run's row is written as ``running`` when it starts, naming the process that runs it
(``reserved_pid``, ``reserved_host``: named for spending-cap reservations, which record them
too), and settled when it ends. A process that is killed, or a machine that goes down, never
settles it: its row would say ``running`` for ever, with no cost, although its calls were
paid for. Such a run becomes ``abandoned``, with the cost of the calls it recorded, when

- it holds a spending-cap reservation (see :mod:`think.ledger.caps`) that was not renewed
  (every recorded call renews it, and so does its process while it works: see
  :mod:`think.ledger.lease`) for :data:`LEASE` (another host, whose
  processes cannot be checked) or :data:`MAX_AGE` (any host), or whose process is gone
  (same host);
- it holds none, and its process is gone (same host), or it started :data:`MAX_AGE` ago.

A call is recorded when it starts, charged its reservation (its worst case), and again when it
ends, with what it cost. A call still in flight when its run is abandoned keeps that worst
case (its status becomes ``abandoned``): a kill never makes a paid call free, so it never
opens a spending cap. The run's ``calls`` becomes the number of calls it recorded.

All are checked whenever a run starts (:func:`settle_dead_runs`: in its spending-cap
reservation, else when its start is recorded), in the writing transaction, so no two
processes decide about one run. The age limit stands even when the
process id is alive: ids are reused, and no run of think lasts a day (every call has a
timeout), so a day-old ``running`` row is a dead run whose id another process now holds.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from think.ledger.schema import RUN_SPENT_SQL
from think.periods import iso

if TYPE_CHECKING:
    from think.ledger.engine import Engine

Row = dict[str, Any]

LEASE = timedelta(minutes=3)
"""How long another host's reservation holds without being renewed (see
:mod:`think.ledger.lease`)."""
OTHER_HOST_TTL = LEASE
MAX_AGE = timedelta(hours=24)
ABANDONED = "abandoned"
ABANDONED_ERROR = "the process ended before the run finished"
RESERVATION_EXPIRED = f"{ABANDONED_ERROR}; its cap reservation expired"
CALL_ABANDONED_ERROR = "the process ended during the call; charged its worst case"


_HOST: str | None = None


def use_host(name: str | None) -> None:
    """Record this process's runs under ``name`` (the ``host`` setting); None: the hostname."""
    global _HOST  # noqa: PLW0603  (one identity per process, as the hostname is)
    _HOST = name


def this_host() -> str:
    """The host this process's runs are recorded under: the ``host`` setting (or
    ``THINK_HOST`` where no settings were loaded), else the hostname."""
    return _HOST or os.environ.get("THINK_HOST", "").strip() or socket.gethostname()


def process_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # cannot tell: the time limits apply
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _gone(row: Row, host: str) -> bool:
    """Whether the run's process is known to have ended (only on this host)."""
    pid = row["reserved_pid"]
    return row["reserved_host"] == host and pid is not None and not process_alive(int(pid))


def _reservation_stale(row: Row, now: datetime, host: str) -> bool:
    heartbeat = row["reserved_at"]
    if heartbeat is None or heartbeat < iso(now - MAX_AGE):
        return True
    if row["reserved_host"] == host:
        return row["reserved_pid"] is None or _gone(row, host)
    return bool(heartbeat < iso(now - OTHER_HOST_TTL))


def _abandon(conn: Engine, where: str, stale: Callable[[Row, str], bool], error: str) -> int:
    """Mark abandoned the runs matching ``where`` that ``stale(row, this host)`` says can no
    longer finish: reservation released, cost = the calls they recorded."""
    host = this_host()
    rows = conn.execute(
        "SELECT id, started_at, reserved_at, reserved_pid, reserved_host FROM runs WHERE " + where
    ).fetchall()
    ended = [row["id"] for row in rows if stale(row, host)]
    for run_id in ended:
        conn.execute(
            f"UPDATE runs SET reserved_usd = NULL, cost_usd = {RUN_SPENT_SQL}, "
            "calls = (SELECT count(*) FROM calls c WHERE c.run_id = runs.id), "
            "status = CASE WHEN status = 'running' THEN ? ELSE status END, "
            "error = coalesce(error, ?) WHERE id = ?",
            [ABANDONED, error, run_id],
        )
        conn.execute(
            "UPDATE calls SET status = ?, error = ? WHERE run_id = ? AND status = 'running'",
            [ABANDONED, CALL_ABANDONED_ERROR, run_id],
        )
    return len(ended)


def expire_reservations(conn: Engine, now: datetime) -> int:
    """Release the reservations of runs that can no longer finish; mark them abandoned."""
    return _abandon(
        conn,
        "reserved_usd IS NOT NULL",
        lambda row, host: _reservation_stale(row, now, host),
        RESERVATION_EXPIRED,
    )


def settle_dead_runs(conn: Engine, now: datetime) -> int:
    """Before a run starts: expire dead runs' reservations (also when no cap is set any more)
    and mark abandoned the dead runs that held none."""
    return expire_reservations(conn, now) + abandon_dead_runs(conn, now)


def abandon_dead_runs(conn: Engine, now: datetime) -> int:
    """Mark abandoned the running runs without a reservation whose process has ended."""
    cutoff = iso(now - MAX_AGE)
    return _abandon(
        conn,
        "status = 'running' AND reserved_usd IS NULL",
        lambda row, host: bool(row["started_at"] < cutoff) or _gone(row, host),
        ABANDONED_ERROR,
    )
