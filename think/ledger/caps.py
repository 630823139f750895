"""Spending caps across runs (``daily_budget``, ``monthly_budget``), enforced in the ledger.

Before a run spends anything it reserves its maximum cost (``--max-cost``; by default all
that the caps leave) on its ``runs`` row, inside one write transaction that first adds up
what the cap's period has already spent and what running runs hold: ``BEGIN IMMEDIATE`` on
SQLite, an advisory transaction lock on the caps on PostgreSQL. No other process (on
PostgreSQL: no other machine) can reserve between that sum and the reservation, so
concurrent runs cannot together pass a cap. When the run finishes, its row is settled: the
reservation is cleared and its actual cost (never more than the reservation, by the budget
governor) counts instead.

A run that crashed leaves its reservation behind. It expires, and the calls it recorded count
instead, when the process that made it is gone (see :mod:`think.ledger.abandoned`); the run's
status becomes ``abandoned``.

Spend counts toward the period in which its run started, in local time, or in the zone
``budget_timezone`` names (a team's one clock).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from think.errors import SpendingCapReached
from think.ledger.abandoned import settle_dead_runs
from think.ledger.rows import run_row
from think.ledger.store import Ledger
from think.periods import budget_zone, day_start, iso, month_start, zone_label

if TYPE_CHECKING:
    from think import events
    from think.ledger.engine import Engine
from think.money import MAX_USD, format_usd, usd_from_ledger

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Caps:
    daily: Decimal | None = None
    monthly: Decimal | None = None
    timezone: str | None = None
    """Where the days and months begin (``budget_timezone``); None: local time."""

    def __bool__(self) -> bool:
        return self.daily is not None or self.monthly is not None


@dataclass(frozen=True)
class Allowance:
    """What one cap leaves: the cap, what its period spent, what running runs hold."""

    name: str
    period: str
    cap: Decimal
    spent: Decimal
    held: Decimal

    @property
    def remaining(self) -> Decimal:
        return max(self.cap - self.spent - self.held, _ZERO)

    def describe(self) -> str:
        held = f", {format_usd(self.held)} held by running runs" if self.held else ""
        return (
            f"{self.name} {format_usd(self.cap)}: {format_usd(self.spent)} spent {self.period}"
            f"{held}, {format_usd(self.remaining)} left"
        )


_MAX = float(MAX_USD)


def _amount(column: str) -> str:
    """``column`` as a cap counts it: NULL when not a non-negative number, at most
    :data:`MAX_USD` (SQLite stores NaN as NULL; an infinity compares above every number)."""
    return f"(CASE WHEN {column} > {_MAX} THEN {_MAX} WHEN {column} >= 0 THEN {column} END)"


_CALLS_SPENT = (
    f"(SELECT coalesce(sum({_amount('c.cost_usd')}), 0) FROM calls c WHERE c.run_id = runs.id)"
)
CAP_SPENT_SQL = f"coalesce({_amount('cost_usd')}, {_amount('max_cost_usd')}, {_CALLS_SPENT}) + 0.0"
"""What a finished ``runs`` row counts against a cap: its recorded cost; when that is
missing, negative or not a number (a row written before reports were checked), its
reservation (``max_cost_usd``), else what its calls recorded. Never negative, never more than
:data:`MAX_USD` a row."""

_SPEND_SQL = (
    f"SELECT coalesce(sum(CASE WHEN reserved_usd IS NULL THEN {CAP_SPENT_SQL} END), 0) AS spent, "
    f"coalesce(sum({_amount('reserved_usd')}), 0) AS held "
    "FROM runs WHERE started_at >= ?"
)


def allowances(conn: Engine, caps: Caps, now: datetime) -> list[Allowance]:
    """What each configured cap leaves right now (call inside the reserving transaction)."""
    result = []
    zone = None if caps.timezone is None else budget_zone(caps.timezone)
    clock = "" if caps.timezone is None else f" ({caps.timezone})"
    for name, period, cap, since in (
        ("daily budget", f"today{clock}", caps.daily, day_start(now, zone)),
        ("monthly budget", f"this month{clock}", caps.monthly, month_start(now, zone)),
    ):
        if cap is None:
            continue
        found = conn.execute(_SPEND_SQL, [iso(since)]).fetchone()
        spent, held = usd_from_ledger(found["spent"]), usd_from_ledger(found["held"])
        result.append(Allowance(name, period, cap, spent, held))
    return result


def _floor(value: Decimal) -> Decimal:
    return value.quantize(Decimal("1e-9"), rounding=ROUND_DOWN)


def reserve_run(
    ledger: Ledger,
    run: events.RunRecord,
    caps: Caps,
    *,
    content: bool = True,
    now: datetime | None = None,
) -> events.RunRecord:
    """Record the run's start holding its maximum cost against the caps, or refuse it.

    Returns the run with ``max_cost_usd`` set: as asked (``--max-cost``) when it fits, else
    what the tightest cap leaves when no maximum was asked. Raises
    :class:`SpendingCapReached` (nothing recorded, nothing spent) when it does not fit.
    """
    now = now or datetime.now(UTC)
    with ledger.immediate("reserve in", lock="caps") as conn:
        settle_dead_runs(conn, now)
        left = allowances(conn, caps, now)
        tightest = min(left, key=lambda a: a.remaining)
        asked = run.max_cost_usd
        if tightest.remaining <= 0:
            raise SpendingCapReached(f"{tightest.describe()}; nothing can be spent until it resets")
        if asked is not None and asked > tightest.remaining:
            raise SpendingCapReached(
                f"{tightest.describe()}; this run could cost up to {format_usd(asked)} "
                f"(--max-cost): lower --max-cost to at most {format_usd(tightest.remaining)}"
            )
        # Rounded down: the REAL column's float noise must never tip a sum past the cap.
        reserved = asked if asked is not None else _floor(tightest.remaining)
        clock = zone_label(caps.timezone, now)
        run = dataclasses.replace(run, max_cost_usd=reserved, budget_timezone=clock)
        row = run_row(run, content=content, user=ledger.user)
        row.update(reserved_usd=float(reserved), reserved_at=iso(now))  # run_row: the process
        ledger.upsert(conn, "runs", row)
    return run
