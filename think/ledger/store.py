"""The ledger store: one interface over either engine, its transactions, reads and
maintenance.

Only the ledger package touches a database. ``ledger`` names a file (SQLite, the default:
:mod:`think.ledger.sqlite_file`) or a ``postgresql://`` URL (a team's database:
:mod:`think.ledger.postgres`); the SQL here and in the modules beside it is written once for
both (:mod:`think.ledger.engine`). Rows are written as the run goes (the run when it starts,
each call when it ends, the run again when it finishes), so a crash loses nothing already
recorded. Migrations (:mod:`think.ledger.schema`) are applied when a ledger is opened.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from think.errors import LedgerError
from think.ledger.engine import Engine, Lock

if TYPE_CHECKING:  # think.events imports pydantic (via pricing): too slow for `think ledger`
    from contextlib import AbstractContextManager

    from think import events

BUSY_TIMEOUT_S = 10.0
"""How long a ledger write waits for another process's write before giving up."""


@cache
def upsert_sql(table: str, columns: tuple[str, ...]) -> str:
    """Insert a row, or update the given columns of the row with the same id."""
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}"


def _known(value: Any) -> Any:
    """A stored value as read: a REAL that is not finite (only a hostile server's report or a
    damaged file puts one there) is not a known number, so it reads as NULL."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def connect(location: Path | str, timeout: float) -> Engine:
    """The engine for ``location``: a ``postgresql://`` URL, else a file path."""
    from think.ledger.location import is_url

    if is_url(location):
        from think.ledger.postgres import PostgresEngine

        return PostgresEngine(str(location), timeout)
    from think.ledger.sqlite_file import SqliteEngine

    return SqliteEngine(Path(location), timeout)


class Ledger:
    """An open ledger. Not shared between threads: open one per thread or process."""

    def __init__(
        self, location: Path | str, timeout: float = BUSY_TIMEOUT_S, user: str | None = None
    ) -> None:
        self.location = location
        self.timeout = timeout
        self.user = user
        """Who the runs this ledger records were run by (the ``user`` setting); None: the
        login name."""
        self.engine = connect(location, timeout)

    @property
    def conn(self) -> Engine:
        """What executes SQL (``?`` placeholders) on this ledger."""
        return self.engine

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def error(self, exc: Exception, doing: str) -> LedgerError:
        return LedgerError(self.engine.describe(exc, doing))

    def immediate(
        self, doing: str = "write to", lock: Lock | None = None
    ) -> AbstractContextManager[Engine]:
        """A write transaction: what it reads stays true until it commits, because no other
        writer naming the same ``lock`` can start meanwhile (SQLite: no other writer)."""
        return self._transaction(doing, write=True, lock=lock)

    def snapshot(self) -> AbstractContextManager[Engine]:
        """A read transaction: every query inside sees the same state of the ledger."""
        return self._transaction("read", write=False, lock=None)

    @contextmanager
    def _transaction(self, doing: str, *, write: bool, lock: Lock | None) -> Iterator[Engine]:
        engine = self.engine
        try:
            engine.begin(write=write, lock=lock)
        except engine.errors as exc:
            raise self.error(exc, doing) from None
        try:
            yield engine
            if write:
                engine.commit()
        except engine.errors as exc:
            engine.rollback()
            raise self.error(exc, doing) from None
        except BaseException:
            engine.rollback()
            raise
        if not write:
            engine.rollback()

    def upsert(self, conn: Engine, table: str, row: dict[str, Any]) -> None:
        conn.execute(upsert_sql(table, tuple(row)), list(row.values()))

    def record_run(self, run: events.RunRecord, *, content: bool = True) -> None:
        """Write the run; a run that starts first marks abandoned the runs whose process
        ended before they finished (see :mod:`think.ledger.abandoned`)."""
        from think.ledger.rows import run_row

        with self.immediate(lock="caps" if run.status == "running" else None) as conn:
            if run.status == "running":
                from datetime import UTC, datetime

                from think.ledger.abandoned import settle_dead_runs

                settle_dead_runs(conn, datetime.now(UTC))
            self.upsert(conn, "runs", run_row(run, content=content, user=self.user))

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

    def renew_lease(self, run_id: str) -> None:
        """Renew the run's reservation (see :mod:`think.ledger.lease`), while it holds one."""
        from think.ids import utc_now

        with self.immediate("renew a lease in") as conn:
            conn.execute(
                "UPDATE runs SET reserved_at = ? WHERE id = ? AND reserved_usd IS NOT NULL",
                [utc_now(), run_id],
            )

    def rows(self, sql: str, params: Any = ()) -> Iterator[dict[str, Any]]:
        """Rows of a read query, as dicts, streamed from the cursor."""
        try:
            for row in self.engine.stream(sql, params):
                yield {key: _known(value) for key, value in row.items()}
        except self.engine.errors as exc:
            raise self.error(exc, "read") from None

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        return next(self.rows(sql, params), None)

    def calls_of(self, run_id: str) -> list[dict[str, Any]]:
        return list(self.rows("select * from calls where run_id = ? order by seq", [run_id]))

    def backup(self, target: Path) -> int:
        """Copy the whole ledger to ``target`` (SQLite only: consistent while others write);
        returns how many runs the copy holds."""
        return self.engine.backup(target)

    def prune(self, before: str) -> tuple[int, int]:
        """Delete the runs started before ``before`` (UTC ISO) and their calls (SQLite: the
        deleted text is overwritten on disk and the WAL checkpointed)."""
        try:
            self.engine.before_prune()
        except self.engine.errors as exc:
            raise self.error(exc, "prune") from None
        with self.immediate("prune") as conn:
            calls = conn.execute(
                "DELETE FROM calls WHERE run_id IN (SELECT id FROM runs WHERE started_at < ?)",
                [before],
            ).rowcount
            runs = conn.execute("DELETE FROM runs WHERE started_at < ?", [before]).rowcount
        self.engine.after_prune()
        return runs, calls

    def count_before(self, before: str) -> int:
        row = self.one("select count(*) as n from runs where started_at < ?", [before])
        return int(row["n"]) if row else 0


def open_ledger(
    location: Path | str | None = None, timeout: float = BUSY_TIMEOUT_S, user: str | None = None
) -> Ledger:
    """The ledger at ``location`` (a path or a ``postgresql://`` URL), else the default file
    under the platform's user data dir; ``user`` names who its runs are recorded as."""
    if location is None:
        from think.config.paths import default_ledger_file

        location = default_ledger_file()
    elif isinstance(location, str):
        from think.ledger.location import as_location

        location = as_location(location)
    return Ledger(location, timeout, user)
