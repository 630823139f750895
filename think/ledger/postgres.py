"""The PostgreSQL engine: one ledger for a team's machines (``ledger = "postgresql://…"``).

psycopg 3 is an optional extra, imported only when a URL names the ledger. libpq reads the
URL, so a password comes from it, ``PGPASSWORD`` or ``~/.pgpass``, and ``sslmode`` and the
other parameters are honoured. Text columns use the ``C`` collation: timestamps and ids
compare byte by byte, as on SQLite. Write transactions that touch the caps take an advisory
transaction lock (``pg_advisory_xact_lock``), so a reservation's sum and its row are one step
no other machine's reservation can interleave with; migrating takes a session lock, held
before its transaction begins (which then sees the schema as the last migration left it). The
schema version is the one row of ``schema_version``; search uses a GIN index over
``to_tsvector('simple', prompt || answer)`` (migration 2).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import suppress
from itertools import count
from typing import TYPE_CHECKING, Any

from think.errors import LedgerError, UsageError
from think.ledger.engine import Cursor, Engine, Lock, search_terms
from think.ledger.location import POSTGRES_EXTRA, secrets, server
from think.ledger.schema import PG_RUNS_TEXT

if TYPE_CHECKING:
    import psycopg

_TYPES = {str: 'TEXT COLLATE "C"', int: "BIGINT", float: "DOUBLE PRECISION"}
LOCK_SPACE = 0x7468696E  # "thin": the first key of think's advisory locks
LOCK_KEYS: dict[Lock, int] = {"caps": 1, "migrate": 2}
"""The second key of each advisory lock (``pg_advisory_xact_lock(LOCK_SPACE, key)``)."""
_cursor_names = count()


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise LedgerError(
            f"a postgresql:// ledger needs psycopg, which is not installed: {POSTGRES_EXTRA}"
        ) from None
    return psycopg


def placeholders(sql: str) -> str:
    """Portable SQL (``?``) as psycopg takes it (``%s``; a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresEngine(Engine):
    name = "postgresql"
    row_order = "id"

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self._session_lock: int | None = None
        self.where = server(url)
        self.timeout = timeout
        driver = _driver()
        from psycopg.rows import dict_row

        self.errors = (driver.Error,)
        try:
            self.conn: psycopg.Connection[dict[str, Any]] = driver.connect(
                url,
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=max(2, round(timeout)),
                application_name="think",
                **_liveness(url),
            )
        except driver.Error as exc:
            raise LedgerError(self._unreachable(exc)) from None
        try:
            # Waiting for another machine's lock gives up as SQLite's busy timeout does.
            self.conn.execute(f"SET lock_timeout = {int(timeout * 1000)}")
            # No JIT: the ledger's queries are short, and compiling one (the planner
            # overestimates the stats' per-run subquery) took 0.4 s of a 4 ms query, 30 s of
            # `think ledger stats --json` over a million runs (benchmarks/pg_ledger.py).
            self.conn.execute("SET jit = off")
            self.migrate()
        except driver.Error as exc:
            self.conn.close()
            raise LedgerError(self.describe(exc, "open")) from None
        except BaseException:
            self.conn.close()
            raise

    def _redact(self, text: str) -> str:
        from think.providers.credentials import redact

        return redact(text, secrets(self.url))

    def _unreachable(self, exc: Exception) -> str:
        # libpq: 'connection to server at "h" (1.2.3.4), port 5432 failed: <why>' per line
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        why = lines[0].rpartition(" failed: ")[2] if lines else type(exc).__name__
        why = why.removeprefix("FATAL:").strip()
        return self._redact(f"cannot reach the ledger's PostgreSQL server {self.where}: {why}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if not params:
            return self.conn.execute(sql)
        return self.conn.execute(placeholders(sql), list(params))

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """In pipeline mode: one round trip for the batch, not one per row."""
        if not rows:
            return 0
        with self.conn.cursor() as cursor:
            cursor.executemany(placeholders(sql), [list(row) for row in rows])
            return cursor.rowcount

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Inside a transaction, a server-side cursor: rows arrive in batches as they are
        read (an export of a million runs holds a batch, not the million)."""
        if not self.conn.info.transaction_status:  # idle: no transaction to hold a cursor
            yield from self.execute(sql, params)
            return
        with self.conn.cursor(name=f"think_{next(_cursor_names)}") as cursor:
            cursor.itersize = 500
            cursor.execute(placeholders(sql) if params else sql, list(params) or None)
            yield from cursor

    def begin(self, *, write: bool, lock: Lock | None = None) -> None:
        if not write:
            self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return
        if lock == "migrate":
            # Held before the transaction starts: a transaction begun earlier would still see
            # the schema as it was (its catalog cache), and create the tables a second time.
            self.conn.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_SPACE, LOCK_KEYS[lock]])
            self._session_lock = LOCK_KEYS[lock]
        self.conn.execute("BEGIN")
        if lock is not None and lock != "migrate":
            self.conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_SPACE, LOCK_KEYS[lock]])

    def commit(self) -> None:
        try:
            self.conn.execute("COMMIT")
        finally:
            self._release()

    def rollback(self) -> None:
        if self.conn.info.transaction_status and not self.conn.closed:
            with suppress(Exception):  # the connection may be gone already
                self.conn.execute("ROLLBACK")
        self._release()

    def _release(self) -> None:
        key, self._session_lock = self._session_lock, None
        if key is not None and not self.conn.closed:
            with suppress(Exception):  # a lost connection released it
                self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, key])

    def close(self) -> None:
        self.conn.close()

    def column_type(self, kind: type) -> str:
        return _TYPES[kind]

    def schema_version(self) -> int:
        found = self.conn.execute("SELECT to_regclass('schema_version') AS t").fetchone()
        if found is None or found["t"] is None:
            return 0
        row = self.conn.execute("SELECT max(version) AS v FROM schema_version").fetchone()
        return int(row["v"] or 0) if row else 0

    def set_schema_version(self, version: int) -> None:
        self.conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        self.conn.execute("DELETE FROM schema_version")
        self.conn.execute("INSERT INTO schema_version (version) VALUES (%s)", [version])

    def columns(self, table: str) -> list[str]:
        found = self.conn.execute(
            "SELECT column_name AS name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            [table],
        )
        return [row["name"] for row in found]

    def position(self, needle: str, haystack: str) -> str:
        return f"strpos({haystack}, {needle})"

    def text_match(self, text: str) -> tuple[str, list[Any]]:
        """Every word (a prefix with ``*``) in the prompt or answer, as the index splits
        them: ``phraseto_tsquery`` for a word (``2+2`` is the phrase 2 2, as in FTS5)."""
        parts, params = [], []
        for core, prefix in search_terms(text):
            if prefix:
                parts.append("to_tsquery('simple', ?)")
                params.append("'" + core.replace("'", "''").replace("\\", "\\\\") + "':*")
            else:
                parts.append("phraseto_tsquery('simple', ?)")
                params.append(core)
        return f"{PG_RUNS_TEXT} @@ ({' && '.join(parts)})", params

    def describe(self, exc: Exception, doing: str) -> str:
        text = " ".join(str(exc).split()) or type(exc).__name__
        if "lock timeout" in text:
            text = (
                f"another process kept it locked for more than {self.timeout:g} s (ledger_timeout)"
            )
        elif self.conn.closed or "connection" in text.lower():
            text = f"the server went away ({text})"
        return self._redact(f"cannot {doing} ledger {self.where}: {text}")

    def backup(self, target: Any) -> int:
        raise UsageError(
            f"think ledger backup copies a SQLite ledger file; the ledger is a PostgreSQL "
            f"database ({self.where}): back it up with pg_dump"
        )


LIVENESS = {
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "tcp_user_timeout": "60000",
}
"""TCP keepalives and a limit on unacknowledged writes (libpq parameters): a server that
vanishes without closing the connection (a dead host, a dropped route) is noticed within
about a minute, so the run spools instead of waiting for the kernel's TCP timeout (~15 min)."""


def _liveness(url: str) -> dict[str, str]:
    """:data:`LIVENESS`, except what the URL sets itself (the user's libpq parameters win)."""
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(url)
    return {key: value for key, value in LIVENESS.items() if key not in given}
