"""The ledger's schema as numbered migrations (``PRAGMA user_version`` holds the number).

Each migration runs once, in order, inside a transaction, when a ledger is opened.
Never edit a released migration: add a new one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database
from sqlite_utils.db import Table

RUN_COLUMNS: dict[str, type] = {
    "id": str,
    "started_at": str,
    "finished_at": str,
    "duration_ms": int,
    "status": str,
    "exit_code": int,
    "strategy": str,
    "prompt": str,
    "answer": str,
    "answer_model": str,
    "final_answer": str,
    "models": str,
    "calls": int,
    "cost_usd": float,
    "cost_source": str,
    "max_cost_usd": float,
    "strong_only_cost_usd": float,
    "input_tokens": int,
    "output_tokens": int,
    "reasoning_tokens": int,
    "cached_tokens": int,
    "votes": str,
    "agreement": float,
    "escalated": int,
    "escalation_reason": str,
    "stages": str,
    "error": str,
    "think_version": str,
}

CALL_COLUMNS: dict[str, type] = {
    "id": str,
    "run_id": str,
    "seq": int,
    "stage": str,
    "provider": str,
    "model": str,
    "started_at": str,
    "status": str,
    "error": str,
    "latency_ms": int,
    "ttft_ms": int,
    "n": int,
    "attempts": int,
    "finish_reason": str,
    "input_tokens": int,
    "output_tokens": int,
    "reasoning_tokens": int,
    "cached_tokens": int,
    "cache_write_tokens": int,
    "usage_source": str,
    "cost_usd": float,
    "cost_source": str,
    "text": str,
    "reasoning": str,
}


def table(db: Database, name: str) -> Table:
    return db.table(name)


def _initial(db: Database) -> None:
    table(db, "runs").create(RUN_COLUMNS, pk="id", not_null={"started_at", "status", "strategy"})
    table(db, "calls").create(
        CALL_COLUMNS,
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
        not_null={"run_id", "seq", "provider", "model", "status"},
    )
    table(db, "runs").create_index(["started_at"])
    table(db, "calls").create_index(["run_id"])


MIGRATIONS: list[Callable[[Database], None]] = [_initial]
"""``MIGRATIONS[i]`` takes a ledger from version ``i`` to ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)
