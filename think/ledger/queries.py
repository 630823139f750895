"""Reading the ledger: filtered run lists, full-text search, one run with its calls, and the
whole ledger streamed for export."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from think.errors import UsageError
from think.ledger.engine import Engine
from think.ledger.records import StoredCall, StoredRun
from think.ledger.store import Ledger
from think.money import usd_fields

RUN_STATUSES = (
    "running",
    "ok",
    "error",
    "budget_exhausted",
    "cancelled",
    "abandoned",
    "reused",
)
_MAX_CHAR = "\U0010ffff"


@dataclass(frozen=True)
class RunFilter:
    """Which runs to show. ``since`` is a UTC ISO timestamp (see :mod:`think.periods`)."""

    since: str | None = None
    model: str | None = None
    status: str | None = None
    escalated: bool | None = None
    text: str | None = None
    host: str | None = None
    """The host whose process ran the run (``reserved_host``): a team's machines apart."""
    batch: str | None = None
    """A batch id, or the start of one (``think batch`` prints it)."""
    user: str | None = None
    """Who ran the run (``username``: the ``user`` setting, else the login name)."""

    def where(self, engine: Engine, *, text: bool = True) -> tuple[str, list[Any]]:
        """The SQL condition on ``runs`` (no alias) and its parameters, for ``engine``
        (``text=False``: without the full-text condition)."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.since is not None:
            clauses.append("started_at >= ?")
            params.append(self.since)
        if self.status is not None:
            if self.status not in RUN_STATUSES:
                raise UsageError(
                    f"--status: {self.status!r} is not a run status; one of "
                    + ", ".join(RUN_STATUSES)
                )
            clauses.append("status = ?")
            params.append(self.status)
        if self.host is not None:
            clauses.append("reserved_host = ?")
            params.append(self.host)
        if self.user is not None:
            clauses.append("username = ?")
            params.append(self.user)
        if self.escalated is not None:
            clauses.append("escalated = ?")
            params.append(int(self.escalated))
        if self.model is not None:
            # The model that answered, or any model a call went to; provider optional.
            colon = engine.position("':'", "answer_model")
            clauses.append(
                f"(answer_model = ? OR substr(answer_model, {colon} + 1) = ? "
                "OR EXISTS (SELECT 1 FROM calls c WHERE c.run_id = runs.id "
                "AND (c.model = ? OR c.provider || ':' || c.model = ?)))"
            )
            params += [self.model] * 4
        if self.batch is not None:
            prefix = self.batch.strip().lower()
            if not prefix:
                raise UsageError("--batch: give a batch id (or the start of one)")
            clauses.append("batch_id >= ? AND batch_id < ?")  # a prefix, by the batch index
            params += [prefix, prefix + _MAX_CHAR]
        if self.text is not None and text:
            condition, words = engine.text_match(self.text)
            clauses.append(condition)
            params += words
        return (" AND ".join(clauses) or "1 = 1"), params


TEXT_COLUMNS = ("prompt", "answer", "final_answer")
"""The columns that may hold megabytes: a listing reads at most an excerpt of them."""


def listing_columns(excerpt: int | None) -> str:
    """What a listing selects: every column, or (``excerpt``: as many characters of the
    prompt, and no answer) only what a table of runs shows."""
    if excerpt is None:
        return "*"
    from think.ledger.schema import RUN_COLUMNS

    return ", ".join(
        f"substr(prompt, 1, {int(excerpt)}) AS prompt"
        if name == "prompt"
        else (f"NULL AS {name}" if name in TEXT_COLUMNS else name)
        for name in RUN_COLUMNS
    )


def list_runs(
    ledger: Ledger, flt: RunFilter, limit: int, *, excerpt: int | None = None
) -> list[StoredRun]:
    """The newest ``limit`` runs that match, newest first; with ``excerpt``, their prompts
    cut to that many characters and no answers (a listing of 16 MB prompts reads 16 MB
    of none of them)."""
    columns = listing_columns(excerpt)
    engine = ledger.engine
    if flt.text is not None and engine.name == "sqlite":
        rows = _search(ledger, flt, limit, columns)
    else:  # PostgreSQL: its planner reads the full-text index and the order itself
        where, params = flt.where(engine)
        rows = list(
            ledger.rows(
                f"SELECT {columns} FROM runs WHERE {where} "
                f"ORDER BY started_at DESC, {engine.row_order} DESC LIMIT ?",
                [*params, limit],
            )
        )
    return [StoredRun.from_row(row) for row in rows]


def _search(ledger: Ledger, flt: RunFilter, limit: int, columns: str) -> list[dict[str, Any]]:
    """Full-text matches on SQLite, newest first, reading the FTS5 index newest-first in
    growing batches (rowids grow as runs are recorded) until ``limit`` runs also pass the
    other filters: a common word costs no more than a rare one (instead of sorting every
    match by time)."""
    from think.ledger.sqlite_file import fts_query

    where, params = flt.where(ledger.engine, text=False)
    query = fts_query(flt.text or "")
    batch_sql = (
        "SELECT rowid FROM runs_fts WHERE runs_fts MATCH ? AND rowid < ? "
        "ORDER BY rowid DESC LIMIT ?"
    )
    found: list[dict[str, Any]] = []
    below = 2**63 - 1
    batch = max(4 * limit, 200)
    while len(found) < limit:
        bounds = ledger.one(
            f"SELECT count(*) AS n, min(rowid) AS low FROM ({batch_sql})", [query, below, batch]
        )
        if bounds is None or not bounds["n"]:
            break
        found += ledger.rows(
            f"SELECT {columns} FROM runs WHERE rowid IN ({batch_sql}) AND {where}",
            [query, below, batch, *params],
        )
        if bounds["n"] < batch:
            break
        below, batch = bounds["low"], batch * 4
    found.sort(key=lambda row: row["started_at"], reverse=True)
    return found[:limit]


def find_run(ledger: Ledger, prefix: str) -> StoredRun:
    """The run whose id starts with ``prefix``; a usage error when none or several do."""
    prefix = prefix.strip().lower()
    if not prefix:
        raise UsageError("give a run id (or the start of one: see `think ledger`)")
    found = list(
        ledger.rows(
            "SELECT * FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 4",
            [prefix, prefix + _MAX_CHAR],
        )
    )
    if not found:
        raise UsageError(f"no run {prefix!r} in the ledger (see `think ledger`)")
    if len(found) > 1:
        shown = ", ".join(row["id"] for row in found[:3]) + (", …" if len(found) > 3 else "")
        raise UsageError(f"run id {prefix!r} is ambiguous: it starts {shown}; give more of it")
    return StoredRun.from_row(found[0])


def calls_of(ledger: Ledger, run: StoredRun) -> list[StoredCall]:
    """The run's calls in the order they were made."""
    return [StoredCall.from_row(row) for row in ledger.calls_of(run.id)]


def run_document(run: StoredRun, calls: list[StoredCall]) -> dict[str, Any]:
    """One run with its calls: ``think ledger show --json`` and each export line."""
    return usd_fields({"run": run.document(), "calls": [call.row for call in calls]})


def export_documents(ledger: Ledger, flt: RunFilter) -> Generator[dict[str, Any], None, None]:
    """Every matching run with its calls, oldest first, streamed in constant memory from one
    read snapshot (runs written meanwhile are not half-included)."""
    where, params = flt.where(ledger.engine)
    with ledger.snapshot():
        for run in ledger.rows(
            f"SELECT * FROM runs WHERE {where} ORDER BY started_at, {ledger.engine.row_order}",
            params,
        ):
            stored = StoredRun.from_row(run)
            yield run_document(stored, calls_of(ledger, stored))
