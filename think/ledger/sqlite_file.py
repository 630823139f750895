"""The SQLite engine: a ledger file of one machine (the default).

The file is created with mode 0600, uses WAL so concurrent ``think`` processes never block
each other's readers and never lose a row, and waits up to a busy timeout on a writer instead
of failing. The schema version is ``PRAGMA user_version``; search uses the FTS5 index
``runs_fts`` (migration 2).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from think.errors import LedgerError
from think.ledger.engine import Cursor, Engine, Lock, search_terms

_TYPES = {str: "TEXT", int: "INTEGER", float: "REAL"}


def column_type(kind: type) -> str:
    """The SQLite column type of values of Python type ``kind``."""
    return _TYPES[kind]


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def describe_error(exc: BaseException, path: Path, doing: str, timeout: float) -> str:
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


def fts_query(text: str) -> str:
    """Each word of ``text`` as a quoted FTS5 term: all must occur (any order), and no word
    is taken as FTS5 syntax. A trailing ``*`` keeps its prefix meaning (``escal*``)."""
    return " ".join(
        '"' + core.replace('"', '""') + '"' + ("*" if prefix else "")
        for core, prefix in search_terms(text)
    )


class SqliteEngine(Engine):
    name = "sqlite"
    row_order = "rowid"
    errors = (sqlite3.Error,)

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.where = str(path)
        self.timeout = timeout
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        except OSError as exc:
            raise LedgerError(f"cannot open ledger {path}: {exc.strerror or exc}") from exc
        except sqlite3.Error as exc:
            raise LedgerError(describe_error(exc, path, "open", timeout)) from exc
        self.conn = conn
        try:
            conn.row_factory = _dict_row
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            if conn.execute("PRAGMA journal_mode").fetchone()["journal_mode"] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL never corrupts the file; a power cut may lose the last
            # transactions, an application crash loses nothing.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self.migrate()
        except sqlite3.Error as exc:
            conn.close()
            raise LedgerError(describe_error(exc, path, "open", timeout)) from exc
        except BaseException:
            conn.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.conn.execute(sql, params)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        return self.conn.executemany(sql, rows).rowcount if rows else 0

    def begin(self, *, write: bool, lock: Lock | None = None) -> None:
        # One writer at a time, whatever it locks: what it reads stays true until it commits.
        self.conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            with suppress(sqlite3.Error):  # SQLite may have rolled it back already
                self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()

    def column_type(self, kind: type) -> str:
        return column_type(kind)

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()["user_version"])

    def set_schema_version(self, version: int) -> None:
        self.conn.execute(f"PRAGMA user_version = {int(version)}")

    def columns(self, table: str) -> list[str]:
        return [
            row["name"]
            for row in self.conn.execute("SELECT name FROM pragma_table_info(?)", [table])
        ]

    def position(self, needle: str, haystack: str) -> str:
        return f"instr({haystack}, {needle})"

    def text_match(self, text: str) -> tuple[str, list[Any]]:
        return "rowid IN (SELECT rowid FROM runs_fts WHERE runs_fts MATCH ?)", [fts_query(text)]

    def describe(self, exc: Exception, doing: str) -> str:
        return describe_error(exc, self.path, doing, self.timeout)

    def before_prune(self) -> None:
        self.conn.execute("PRAGMA secure_delete = ON")

    def after_prune(self) -> None:
        with suppress(sqlite3.Error):  # busy readers: the WAL is reused once they finish
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def backup(self, target: Any) -> int:
        """Copy the file with SQLite's online backup API (consistent while others write)."""
        target = Path(target)
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
            raise LedgerError(self.describe(exc, "back up")) from exc
        return count
