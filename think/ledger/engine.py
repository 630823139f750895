"""The engine seam: what differs between a SQLite file and a PostgreSQL database.

The ledger's SQL (runs, calls, caps, stats, reuse) is written once, with ``?`` placeholders,
in SQL both engines run; an engine executes it (the PostgreSQL driver takes ``%s``), opens
and ends transactions, applies the numbered migrations of :mod:`think.ledger.schema` and
holds the few fragments that differ (full-text search, finding a character in a string, the
order runs were recorded in). Rows come back as dicts on both.

A write transaction excludes every other writer that names the same lock: on SQLite
``BEGIN IMMEDIATE`` (one writer at a time, whatever the lock), on PostgreSQL an advisory
transaction lock (:mod:`think.ledger.postgres`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Literal, Protocol

Lock = Literal["caps", "migrate"]
"""What a write transaction excludes others from: reserving against (or settling) the caps,
migrating the schema."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Engine(ABC):
    """An open connection to one ledger."""

    name: ClassVar[str]
    row_order: ClassVar[str]
    """What orders runs that started in the same millisecond: the order they were recorded
    in where the engine keeps one (SQLite's ``rowid``), else the id."""
    errors: tuple[type[Exception], ...]
    """The driver's errors (turned into one-line :class:`LedgerError` messages)."""
    where: str
    """The ledger as messages name it (a path, or host:port/database; never a password)."""
    timeout: float

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement of portable SQL (``?`` placeholders)."""

    @abstractmethod
    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one statement once per row of parameters (batched where the engine can); the
        number of rows it changed."""

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """The rows of a read, fetched as they are consumed where the engine can."""
        yield from self.execute(sql, params)

    @abstractmethod
    def begin(self, *, write: bool, lock: Lock | None = None) -> None:
        """Start a transaction: a write one that no other writer naming ``lock`` can
        interleave with, or a read one whose queries all see one state."""

    def commit(self) -> None:
        self.execute("COMMIT")

    @abstractmethod
    def rollback(self) -> None:
        """End the transaction, if one is open, without keeping what it wrote."""

    @abstractmethod
    def close(self) -> None: ...

    # -- the schema -----------------------------------------------------------------------

    @abstractmethod
    def column_type(self, kind: type) -> str:
        """The column type a migration declares for values of Python type ``kind``."""

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def columns(self, table: str) -> list[str]:
        """The names of ``table``'s columns, in their order."""

    @abstractmethod
    def set_schema_version(self, version: int) -> None: ...

    def migrate(self) -> None:
        """Apply the migrations this ledger lacks, in one transaction that no other
        process migrating the same ledger can interleave with."""
        from think.errors import LedgerError
        from think.ledger.schema import MIGRATIONS, SCHEMA_VERSION

        def check(version: int) -> None:
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"ledger {self.where} has schema version {version}, newer than this think "
                    f"understands ({SCHEMA_VERSION}); upgrade think"
                )

        version = self.schema_version()
        check(version)
        if version == SCHEMA_VERSION:
            return
        self.begin(write=True, lock="migrate")
        try:
            version = self.schema_version()  # another process may have migrated meanwhile
            check(version)
            for step in MIGRATIONS[version:]:
                for statement in step.statements(self.name, self.column_type):
                    self.execute(statement)
            self.set_schema_version(SCHEMA_VERSION)
            self.commit()
        except BaseException:
            self.rollback()
            raise

    # -- fragments ------------------------------------------------------------------------

    @abstractmethod
    def position(self, needle: str, haystack: str) -> str:
        """SQL for the 1-based position of ``needle`` in ``haystack`` (0: absent)."""

    @abstractmethod
    def text_match(self, text: str) -> tuple[str, list[Any]]:
        """A condition on ``runs``: its prompt or answer holds every word of ``text``."""

    # -- errors and maintenance -----------------------------------------------------------

    @abstractmethod
    def describe(self, exc: Exception, doing: str) -> str:
        """A one-line, actionable message for what went wrong (never a password)."""

    def before_prune(self) -> None:  # noqa: B027  (most engines need nothing)
        """Prepare a prune (SQLite: overwrite deleted text on disk)."""

    def after_prune(self) -> None:  # noqa: B027
        """Give back what a prune freed, where the engine needs telling."""

    @abstractmethod
    def backup(self, target: Any) -> int:
        """Copy the whole ledger to ``target``; the number of runs the copy holds."""


def search_terms(text: str) -> list[tuple[str, bool]]:
    """The words of a ``-q`` search, each with whether it is a prefix (``escal*``)."""
    from think.errors import UsageError

    terms = []
    for word in text.split():
        prefix = word.endswith("*") and len(word) > 1
        terms.append((word.rstrip("*") if prefix else word, prefix))
    if not terms:
        raise UsageError("-q: give one or more words to search for")
    return terms
