"""The ledger store: an open SQLite file, its transactions, reads and maintenance.

Only the ledger package touches SQLite. The file is created with mode 0600, uses WAL so concurrent
``think`` processes never block each other's readers and never lose a row, and waits up to a
busy timeout on a writer instead of failing. Rows are written as the run goes (the run when it
starts, each call when it ends, the run again when it finishes), so a crash loses nothing
already recorded. Migrations (``ledger_schema``) are applied when a ledger is opened.

Everyday reads and writes use :mod:`sqlite3` directly; sqlite-utils is imported only to run
migrations (its import alone costs more than a run's ledger writes).
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from think.errors import LedgerError

if TYPE_CHECKING:  # think.events imports pydantic (via pricing): too slow for `think ledger`
    from think import events

BUSY_TIMEOUT_S = 10.0
"""How long a ledger write waits for another process's write before giving up."""


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


@cache
def upsert_sql(table: str, columns: tuple[str, ...]) -> str:
    """Insert a row, or update the given columns of the row with the same id."""
    names = ", ".join(columns)
    marks = ", ".join(f":{c}" for c in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}"


def describe_error(exc: sqlite3.Error, path: Path, doing: str, timeout: float) -> str:
    """A one-line, actionable message for what went wrong with the ledger file."""
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return (
            f"cannot {doing} ledger {path}: another process kept it locked for more than "
            f"{timeout:g} s (ledger_timeout)"
        )
    if "readonly" in lowered or "read-only" in lowered:
        return f"cannot {doing} ledger {path}: the file or its directory is read-only ({text})"
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return (
            f"cannot {doing} ledger {path}: the file is corrupt ({text}); move it aside or "
            "restore a backup"
        )
    if "unable to open" in lowered:
        return f"cannot {doing} ledger {path}: {text} (check the directory and its permissions)"
    return f"cannot {doing} ledger {path}: {text}"


def _known(value: Any) -> Any:
    """A stored value as read: a REAL that is not finite (only a hostile server's report or a
    damaged file puts one there) is not a known number, so it reads as NULL."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        with suppress(sqlite3.Error):  # SQLite may have rolled it back already
            conn.execute("ROLLBACK")


class Ledger:
    """An open ledger file. Not shared between threads: open one per thread or process."""

    def __init__(self, path: Path, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.timeout = timeout
        self.conn = self._open(path, timeout)

    def _open(self, path: Path, timeout: float) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        except OSError as exc:
            raise LedgerError(f"cannot open ledger {path}: {exc.strerror or exc}") from exc
        except sqlite3.Error as exc:
            raise LedgerError(describe_error(exc, path, "open", timeout)) from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL never corrupts the file; a power cut may lose the last
            # transactions, an application crash loses nothing.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(conn, path)
        except sqlite3.Error as exc:
            conn.close()
            raise LedgerError(describe_error(exc, path, "open", timeout)) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path) -> None:
        from think.ledger.schema import MIGRATIONS

        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise LedgerError(
                f"ledger {path} has schema version {version}, newer than this think "
                f"understands ({len(MIGRATIONS)}); upgrade think"
            )
        if version == len(MIGRATIONS):
            return
        import_sqlite_utils()
        from sqlite_utils import Database

        db = Database(conn)
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

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def error(self, exc: sqlite3.Error, doing: str) -> LedgerError:
        return LedgerError(describe_error(exc, self.path, doing, self.timeout))

    @contextmanager
    def immediate(self, doing: str = "write to") -> Iterator[sqlite3.Connection]:
        """A write transaction taken at once (``BEGIN IMMEDIATE``): what it reads stays
        true until it commits, because no other writer can start meanwhile."""
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self.error(exc, doing) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise self.error(exc, doing) from exc
        except BaseException:
            _rollback(conn)
            raise

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: every query inside sees the same state of the ledger."""
        try:
            self.conn.execute("BEGIN")
        except sqlite3.Error as exc:
            raise self.error(exc, "read") from exc
        try:
            yield
        finally:
            _rollback(self.conn)

    def upsert(self, conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
        conn.execute(upsert_sql(table, tuple(row)), row)

    def record_run(self, run: events.RunRecord, *, content: bool = True) -> None:
        """Write the run; a run that starts first marks abandoned the runs whose process
        ended before they finished (see :mod:`think.ledger.abandoned`)."""
        from think.ledger.rows import run_row

        with self.immediate() as conn:
            if run.status == "running":
                from datetime import UTC, datetime

                from think.ledger.abandoned import settle_dead_runs

                settle_dead_runs(conn, datetime.now(UTC))
            self.upsert(conn, "runs", run_row(run, content=content))

    def record_call(self, call: events.CallRecord, *, content: bool = True) -> None:
        """Write the call; a run holding a reservation gets its heartbeat refreshed."""
        from think.ids import utc_now
        from think.ledger.rows import call_row

        with self.immediate() as conn:
            self.upsert(conn, "calls", call_row(call, content=content))
            conn.execute(
                "UPDATE runs SET reserved_at = ? WHERE id = ? AND reserved_usd IS NOT NULL",
                [utc_now(), call.run_id],
            )

    def rows(self, sql: str, params: Any = ()) -> Iterator[dict[str, Any]]:
        """Rows of a read query, as dicts, streamed from the cursor."""
        try:
            for row in self.conn.execute(sql, params):
                yield {key: _known(value) for key, value in zip(row.keys(), row, strict=True)}
        except sqlite3.Error as exc:
            raise self.error(exc, "read") from exc

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        return next(self.rows(sql, params), None)

    def calls_of(self, run_id: str) -> list[dict[str, Any]]:
        return list(self.rows("select * from calls where run_id = ? order by seq", [run_id]))

    def backup(self, target: Path) -> int:
        """Copy the whole ledger to ``target`` with SQLite's online backup API (consistent
        while others write); returns how many runs the copy holds."""
        try:
            fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError as exc:
            raise LedgerError(f"{target} exists; choose a new file for the backup") from exc
        except OSError as exc:
            raise LedgerError(f"cannot create {target}: {exc.strerror or exc}") from exc
        os.close(fd)
        try:
            dest = sqlite3.connect(target)
            try:
                self.conn.backup(dest)
                count = int(dest.execute("select count(*) from runs").fetchone()[0])
            finally:
                dest.close()
        except sqlite3.Error as exc:
            target.unlink(missing_ok=True)
            raise self.error(exc, "back up") from exc
        return count

    def prune(self, before: str) -> tuple[int, int]:
        """Delete the runs started before ``before`` (UTC ISO) and their calls; the deleted
        text is overwritten on disk (``secure_delete``) and the WAL checkpointed."""
        try:
            self.conn.execute("PRAGMA secure_delete = ON")
        except sqlite3.Error as exc:
            raise self.error(exc, "prune") from exc
        with self.immediate("prune") as conn:
            calls = conn.execute(
                "DELETE FROM calls WHERE run_id IN (SELECT id FROM runs WHERE started_at < ?)",
                [before],
            ).rowcount
            runs = conn.execute("DELETE FROM runs WHERE started_at < ?", [before]).rowcount
        with suppress(sqlite3.Error):  # busy readers: the WAL is reused once they finish
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return runs, calls

    def count_before(self, before: str) -> int:
        row = self.one("select count(*) as n from runs where started_at < ?", [before])
        return int(row["n"]) if row else 0


def open_ledger(path: Path | None = None, timeout: float = BUSY_TIMEOUT_S) -> Ledger:
    """The ledger at ``path``, else the default file under the platform's user data dir."""
    if path is None:
        from think.config.paths import default_ledger_file

        path = default_ledger_file()
    return Ledger(path, timeout)
