"""The ledger: every run and every provider call, in a local SQLite file.

Only this module (with its schema) touches SQLite. The file is created with mode 0600, uses
WAL so concurrent ``think`` processes do not block each other's readers, and waits on a
busy writer instead of failing. Rows are written as the run goes (the run when it starts,
each call when it ends, the run again when it finishes), so a crash loses nothing already
recorded.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from think import __version__, events
from think.errors import LedgerError

if TYPE_CHECKING:
    from sqlite_utils import Database

BUSY_TIMEOUT_MS = 10_000


def import_sqlite_utils() -> None:
    """Import sqlite-utils without its optional numpy support.

    sqlite-utils imports numpy when it is installed (llama-cpp-python installs it) only to
    convert numpy values, which think never stores; that import alone costs ~0.13 s, a
    large share of a CLI run. ``sys.modules["numpy"] = None`` makes sqlite-utils' guarded
    ``import numpy`` fail fast; the entry is removed again so numpy stays importable.
    """
    import sys

    if "sqlite_utils" in sys.modules or "numpy" in sys.modules:
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]
    try:
        import sqlite_utils  # noqa: F401
    finally:
        if sys.modules.get("numpy", False) is None:
            del sys.modules["numpy"]


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def run_row(run: events.RunRecord) -> dict[str, Any]:
    usage = run.usage
    return {
        "id": run.id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_ms": run.duration_ms,
        "status": run.status,
        "exit_code": run.exit_code,
        "strategy": run.strategy,
        "prompt": run.prompt,
        "answer": run.answer,
        "answer_model": run.answer_model,
        "final_answer": run.final_answer,
        "models": json.dumps(list(run.models)),
        "calls": run.calls,
        "cost_usd": _float(run.cost.usd) if run.cost else None,
        "cost_source": run.cost.source if run.cost else None,
        "max_cost_usd": _float(run.max_cost_usd),
        "strong_only_cost_usd": _float(run.strong_only_cost_usd),
        "input_tokens": usage.input_tokens if usage else None,
        "output_tokens": usage.output_tokens if usage else None,
        "reasoning_tokens": usage.reasoning_tokens if usage else None,
        "cached_tokens": usage.cached_tokens if usage else None,
        "votes": json.dumps(run.votes) if run.votes else None,
        "agreement": run.agreement,
        "escalated": int(run.escalated),
        "escalation_reason": run.escalation_reason,
        "stages": json.dumps(list(run.stages)) if run.stages else None,
        "error": run.error,
        "think_version": __version__,
    }


def call_row(call: events.CallRecord) -> dict[str, Any]:
    finish = [reason for reason in call.finish_reasons if reason]
    return {
        "id": call.id,
        "run_id": call.run_id,
        "seq": call.seq,
        "stage": call.stage,
        "provider": call.provider,
        "model": call.model,
        "started_at": call.started_at,
        "status": call.status,
        "error": call.error,
        "latency_ms": call.latency_ms,
        "ttft_ms": call.ttft_ms,
        "n": call.n,
        "attempts": call.attempts,
        "finish_reason": ",".join(finish) if finish else None,
        "input_tokens": call.usage.input_tokens,
        "output_tokens": call.usage.output_tokens,
        "reasoning_tokens": call.usage.reasoning_tokens,
        "cached_tokens": call.usage.cached_tokens,
        "cache_write_tokens": call.usage.cache_write_tokens,
        "usage_source": call.usage_source,
        "cost_usd": _float(call.cost.usd),
        "cost_source": call.cost.source,
        "text": call.texts[0] if call.n == 1 else json.dumps(list(call.texts)),
        "reasoning": call.reasoning or None,
    }


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = self._open(path)

    @staticmethod
    def _open(path: Path) -> Database:
        import_sqlite_utils()
        from sqlite_utils import Database

        from think.ledger_schema import MIGRATIONS

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db = Database(conn)
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < len(MIGRATIONS):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    version = conn.execute("PRAGMA user_version").fetchone()[0]
                    for step in MIGRATIONS[version:]:
                        step(db)
                    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            elif version > len(MIGRATIONS):
                raise LedgerError(
                    f"ledger {path} has schema version {version}, newer than this think "
                    f"understands ({len(MIGRATIONS)}); upgrade think"
                )
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"cannot open ledger {path}: {exc}") from exc
        except OSError as exc:
            raise LedgerError(f"cannot open ledger {path}: {exc.strerror or exc}") from exc
        return db

    def close(self) -> None:
        self._db.close()

    def _write(self, table: str, row: dict[str, Any]) -> None:
        try:
            self._db.table(table).upsert(row, pk="id")
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"cannot write to ledger {self.path}: {exc}") from exc

    def record_run(self, run: events.RunRecord) -> None:
        self._write("runs", run_row(run))

    def record_call(self, call: events.CallRecord) -> None:
        self._write("calls", call_row(call))

    def recent_runs(self, limit: int) -> list[dict[str, Any]]:
        return list(
            self._db.query(
                "select * from runs order by started_at desc, rowid desc limit ?", [limit]
            )
        )

    def calls_of(self, run_id: str) -> list[dict[str, Any]]:
        return list(self._db.query("select * from calls where run_id = ? order by seq", [run_id]))

    def rows(self, sql: str, params: list[Any] | None = None) -> Iterator[dict[str, Any]]:
        yield from self._db.query(sql, params or [])


class LedgerRecorder:
    """Event sink that writes the run and its calls as they happen.

    A ledger failure never stops the run: the first error is kept (``self.error``) and the
    command reports it at the end with :data:`ExitCode.NOT_RECORDED`.
    """

    def __init__(self, ledger: Ledger | None, error: LedgerError | None = None) -> None:
        self.ledger = ledger
        self.error = error

    def __call__(self, event: events.Event) -> None:
        if self.ledger is None or self.error is not None:
            return
        try:
            if isinstance(event, (events.RunStarted, events.RunFinished)):
                self.ledger.record_run(event.run)
            elif isinstance(event, events.CallFinished):
                self.ledger.record_call(event.call)
        except LedgerError as exc:
            self.error = exc
