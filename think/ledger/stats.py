"""Spend statistics from the ledger: by day, week, strategy, model or provider.

Model and provider rows count the calls made since the start (the other groupings count
runs started since then). A run's spend is its recorded cost, or, while it has none
(running, crashed, or a call of unknown price), the known costs of its calls. Savings
compare what the strong model alone would have cost (recorded by cascades) with what those
same runs spent; reuse saved what the original runs of the reused answers cost. Days and
weeks are local time; weeks start on Monday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from think.ledger.schema import RUN_SPENT_SQL
from think.ledger.store import Ledger
from think.money import usd_from_ledger
from think.periods import iso, local_midnight, local_moment

GroupBy = Literal["day", "week", "strategy", "shape", "model", "provider"]
GROUPS: tuple[GroupBy, ...] = ("day", "week", "strategy", "shape", "model", "provider")
_RUN_KEYS = {"strategy": "strategy", "shape": "coalesce(answer_shape, 'not judged')"}
"""Run columns a group may be keyed by; ``shape``: short answers (voted) apart from open ones
(judged whole), and runs from before shapes were recorded (or of other strategies)."""

_CALL_KEYS = {"model": "provider, model", "provider": "provider"}


@dataclass(frozen=True)
class Row:
    """One group (or the total). Model and provider rows count calls (``runs`` is 0); their
    escalation and savings are ``None``: those belong to runs, not to calls."""

    key: str
    runs: int
    spent: Decimal
    calls: int | None = None
    cascades: int | None = None
    escalated: int | None = None
    strong_alone: Decimal | None = None
    """What the strong model alone would have cost the runs that record it."""
    spent_comparable: Decimal | None = None
    """What those same runs spent."""
    unknown_cost: int = 0
    """Runs whose cost is not fully known (a model without a price): counted at what is."""

    @property
    def saved(self) -> Decimal | None:
        if self.strong_alone is None or self.spent_comparable is None:
            return None
        return self.strong_alone - self.spent_comparable

    @property
    def escalation_rate(self) -> float | None:
        if not self.cascades or self.escalated is None:
            return None
        return self.escalated / self.cascades

    @property
    def average(self) -> Decimal | None:
        return self.spent / self.runs if self.runs else None


@dataclass(frozen=True)
class Stats:
    by: GroupBy
    since: str | None
    rows: list[Row]
    total: Row
    reused: int = 0
    """Runs answered from the ledger (status ``reused``)."""
    reuse_saved: Decimal = Decimal(0)
    """What the runs whose answers they reused cost (known costs only)."""


def _usd(value: float | None) -> Decimal:
    return usd_from_ledger(value).normalize()


_RUN_AGGREGATES = (
    f"count(*) AS runs, sum({RUN_SPENT_SQL}) AS spent, "
    "sum(CASE WHEN strategy = 'cascade' AND status != 'reused' THEN 1 ELSE 0 END) AS cascades, "
    "sum(CASE WHEN strategy = 'cascade' THEN escalated ELSE 0 END) AS escalated, "
    # savings: only runs that answered (a failed run's strong-alone figure is a worst case
    # for an answer nobody got)
    "sum(CASE WHEN status = 'ok' THEN strong_only_cost_usd END) AS strong_alone, "
    "sum(CASE WHEN status = 'ok' AND strong_only_cost_usd IS NOT NULL "
    f"THEN {RUN_SPENT_SQL} END) AS comparable, "
    "sum(CASE WHEN cost_usd IS NULL AND status != 'running' THEN 1 ELSE 0 END) AS unknown_cost"
)


def _run_row(key: str, r: dict[str, Any]) -> Row:
    return Row(
        key=key,
        runs=int(r["runs"]),
        spent=_usd(r["spent"]),
        cascades=int(r["cascades"] or 0),
        escalated=int(r["escalated"] or 0),
        strong_alone=None if r["strong_alone"] is None else _usd(r["strong_alone"]),
        spent_comparable=None if r["comparable"] is None else _usd(r["comparable"]),
        unknown_cost=int(r["unknown_cost"] or 0),
    )


def _by_run_key(ledger: Ledger, key: str, since: str | None) -> list[Row]:
    sql = (
        f"SELECT {key} AS key, {_RUN_AGGREGATES} FROM runs WHERE started_at >= ? "
        "GROUP BY 1 ORDER BY 1"
    )
    return [_run_row(str(r["key"]), r) for r in ledger.rows(sql, [since or ""])]


def _by_period(ledger: Ledger, since: str | None, days: int) -> list[Row]:
    """One index range scan per local day (or week from Monday): exact across DST changes,
    and no sorting of the runs (much faster than grouping by a computed date)."""
    bounds = ledger.one(
        "SELECT min(started_at) AS first, max(started_at) AS last FROM runs WHERE started_at >= ?",
        [since or ""],
    )
    if bounds is None or bounds["first"] is None:
        return []
    first = _local_date(bounds["first"])
    last = _local_date(bounds["last"])
    if days == 7:
        first -= timedelta(days=first.weekday())
    sql = f"SELECT {_RUN_AGGREGATES} FROM runs WHERE started_at >= ? AND started_at < ?"
    rows = []
    day = first
    while day <= last:
        end = day + timedelta(days=days)
        low = max(iso(local_midnight(day)), since or "")
        found = ledger.one(sql, [low, iso(local_midnight(end))])
        if found is not None and found["runs"]:
            rows.append(_run_row(day.isoformat(), found))
        day = end
    return rows


def _local_date(stamp: str) -> date:
    return local_moment(stamp).date()


def _call_rows(ledger: Ledger, key: str, since: str | None) -> list[Row]:
    sql = (
        f"SELECT {key}, count(*) AS calls, sum(cost_usd) AS spent, "
        "sum(CASE WHEN cost_usd IS NULL THEN 1 ELSE 0 END) AS unknown_cost "
        "FROM calls WHERE started_at >= ? "
        f"GROUP BY {key}"  # in the covering index's order: no sorting
    )
    rows = [
        Row(
            key=":".join(str(r[name.strip()]) for name in key.split(",")),
            runs=0,
            calls=int(r["calls"]),
            spent=_usd(r["spent"]),
            unknown_cost=int(r["unknown_cost"] or 0),
        )
        for r in ledger.rows(sql, [since or ""])
    ]
    return sorted(rows, key=lambda row: (-row.spent, row.key))


def _add(rows: list[Row]) -> Row:
    def total(values: list[Decimal | None]) -> Decimal | None:
        known = [value for value in values if value is not None]
        return sum(known, Decimal(0)) if known else None

    return Row(
        "total",
        runs=sum(row.runs for row in rows),
        spent=sum((row.spent for row in rows), Decimal(0)),
        cascades=sum(row.cascades or 0 for row in rows),
        escalated=sum(row.escalated or 0 for row in rows),
        strong_alone=total([row.strong_alone for row in rows]),
        spent_comparable=total([row.spent_comparable for row in rows]),
        unknown_cost=sum(row.unknown_cost for row in rows),
    )


def _reuse(ledger: Ledger, since: str | None) -> tuple[int, Decimal]:
    """How many runs were reused answers, and what their original runs cost."""
    found = ledger.one(
        "SELECT count(*) AS n, sum(o.cost_usd) AS saved FROM runs r "
        "LEFT JOIN runs o ON o.id = r.reused_from "
        "WHERE r.status = 'reused' AND r.started_at >= ?",
        [since or ""],
    )
    if found is None:
        return 0, Decimal(0)
    return int(found["n"] or 0), _usd(found["saved"])


def spend_stats(ledger: Ledger, by: GroupBy, since: str | None) -> Stats:
    """Spend grouped ``by``, for runs started at or after ``since`` (UTC ISO; None: all)."""
    with ledger.snapshot():
        reused, saved = _reuse(ledger, since)
        if by in _CALL_KEYS:
            rows = _call_rows(ledger, _CALL_KEYS[by], since)
            total = ledger.one(
                f"SELECT {_RUN_AGGREGATES} FROM runs WHERE started_at >= ?", [since or ""]
            )
            grand = _add([_run_row("total", total)] if total else [])
            return Stats(by, since, rows, grand, reused, saved)
        if by in _RUN_KEYS:
            rows = _by_run_key(ledger, _RUN_KEYS[by], since)
        else:
            rows = _by_period(ledger, since, 7 if by == "week" else 1)
        return Stats(by, since, rows, _add(rows), reused, saved)
