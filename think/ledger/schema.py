"""The ledger's schema as numbered migrations, one definition for both engines.

Each migration runs once, in order, inside a transaction, when a ledger is opened (the
engine keeps the number: SQLite's ``PRAGMA user_version``, PostgreSQL's ``schema_version``).
A migration names the tables it creates and the columns it adds (each engine declares their
types), the SQL both engines run, and each engine's own SQL where they differ (full-text
search). Never edit a released migration: add a new one. (Migration 1's SQL is frozen in
``tests/fixtures/ledger/schema_v1.sql``; a test checks it still creates exactly that.)

1. ``runs`` and ``calls`` (the first released schema).
2. Spending-cap reservations on ``runs`` (``reserved_usd``, ``reserved_at``, ``reserved_pid``,
   ``reserved_host``), ``no_log``, a full-text index over prompts and answers (SQLite: FTS5
   ``runs_fts``, kept current by triggers; PostgreSQL: a GIN index over their
   ``tsvector``), and indexes for the ledger's filters and stats.
3. An index of the runs still ``running``: each starting run looks for those whose process
   ended (:mod:`think.ledger.abandoned`); ``reserved_pid``/``reserved_host`` now name the
   process of every running run, not only of those holding a reservation.
4. ``answer_shape``, ``verdict`` and ``p_accept`` on ``runs``: whether the answer was judged
   as a short answer (by agreement) or an open one (by a judge or a command), and the
   open-ended gate's verdict and probability.
5. ``fingerprint`` and ``reused_from`` on ``runs``: what shapes a run's answer (a hash of the
   composed prompt, models, strategy and settings; see :mod:`think.reuse`), and for a run
   answered from the ledger the run it reused; an index to find a run by its fingerprint,
   and one of the reused runs (what reuse saved, for stats).
6. ``anomaly`` and ``reported_usage`` on ``calls``: why what the provider reported (or sent)
   was not believed, and its report as it came (JSON), beside the local counts that stand.
7. ``requested_tier`` and ``served_tier`` on ``calls``: the service tier a call asked for
   (``--tier``) and the one the provider said served it, which its cost is priced at.
8. ``batch_id`` on ``runs``: the ``think batch`` a run was one prompt of, and an index to list
   a batch's runs (``think ledger --batch ID``).
9. ``username`` and ``budget_timezone`` on ``runs``: who ran it (the ``user`` setting, else the
   login name; not ``user``, which PostgreSQL reserves: ``SELECT user`` names the session's
   role), and the zone its spending-cap reservation's days and months were counted in (NULL:
   no cap applied); an index to list one user's runs (``think ledger --user NAME``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

RUN_SPENT_SQL = (
    "coalesce(cost_usd, (SELECT sum(c.cost_usd) FROM calls c WHERE c.run_id = runs.id), 0)"
)
"""What a ``runs`` row spent: its recorded cost, else (a run that has not finished, or never
will) the cost of the calls it recorded."""

RUN_COLUMNS_V1: dict[str, type] = {
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

CALL_COLUMNS_V1: dict[str, type] = {
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


RUN_COLUMNS_V2: dict[str, type] = {
    "reserved_usd": float,
    "reserved_at": str,
    "reserved_pid": int,
    "reserved_host": str,
    "no_log": int,
}

RUN_COLUMNS_V4: dict[str, type] = {
    "answer_shape": str,
    "verdict": str,
    "p_accept": float,
}

RUN_COLUMNS_V5: dict[str, type] = {
    "fingerprint": str,
    "reused_from": str,
}

CALL_COLUMNS_V6: dict[str, type] = {
    "anomaly": str,
    "reported_usage": str,
}

CALL_COLUMNS_V7: dict[str, type] = {
    "requested_tier": str,
    "served_tier": str,
}

RUN_COLUMNS_V8: dict[str, type] = {
    "batch_id": str,
}

RUN_COLUMNS_V9: dict[str, type] = {
    "username": str,
    "budget_timezone": str,
}

RUN_COLUMNS: dict[str, type] = {
    **RUN_COLUMNS_V1,
    **RUN_COLUMNS_V2,
    **RUN_COLUMNS_V4,
    **RUN_COLUMNS_V5,
    **RUN_COLUMNS_V8,
    **RUN_COLUMNS_V9,
}
"""The ``runs`` table's columns today, in table order."""
CALL_COLUMNS: dict[str, type] = {**CALL_COLUMNS_V1, **CALL_COLUMNS_V6, **CALL_COLUMNS_V7}
"""The ``calls`` table's columns today, in table order."""


@dataclass(frozen=True)
class Table:
    """A table a migration creates: its columns in order (the first is the primary key)."""

    name: str
    columns: dict[str, type]
    not_null: frozenset[str] = frozenset()
    references: dict[str, str] = field(default_factory=dict)
    """Columns that reference another table's ``id``."""

    def create_sql(self, column_type: Callable[[type], str]) -> str:
        # The layout sqlite-utils wrote for migration 1 (frozen in schema_v1.sql).
        lines = []
        for position, (name, kind) in enumerate(self.columns.items()):
            line = f'   "{name}" {column_type(kind)}'
            if position == 0:
                line += " PRIMARY KEY"
            if name in self.not_null:
                line += " NOT NULL"
            if name in self.references:
                line += f' REFERENCES "{self.references[name]}"("id")'
            lines.append(line)
        return f'CREATE TABLE "{self.name}" (\n' + ",\n".join(lines) + "\n)"


@dataclass(frozen=True)
class Migration:
    """One step of the schema, for both engines, applied in this order: the tables it
    creates, the columns it adds, ``sql`` (both engines), then the engine's own."""

    create: tuple[Table, ...] = ()
    add: tuple[tuple[str, dict[str, type]], ...] = ()
    """(table, columns) to add, in order."""
    sql: tuple[str, ...] = ()
    sqlite: tuple[str, ...] = ()
    postgresql: tuple[str, ...] = ()

    def statements(self, engine: str, column_type: Callable[[type], str]) -> list[str]:
        """The statements that apply this step on ``engine`` (``sqlite``, ``postgresql``)."""
        found = [table.create_sql(column_type) for table in self.create]
        found += [
            f"ALTER TABLE {table} ADD COLUMN {name} {column_type(kind)}"
            for table, columns in self.add
            for name, kind in columns.items()
        ]
        return found + list(self.sql) + list(getattr(self, engine))


def _index(table: str, column: str) -> str:
    return f'CREATE INDEX "idx_{table}_{column}"\n    ON "{table}" ("{column}")'


_INITIAL = Migration(
    create=(
        Table("runs", RUN_COLUMNS_V1, frozenset({"started_at", "status", "strategy"})),
        Table(
            "calls",
            CALL_COLUMNS_V1,
            frozenset({"run_id", "seq", "provider", "model", "status"}),
            {"run_id": "runs"},
        ),
    ),
    sql=(_index("runs", "started_at"), _index("calls", "run_id")),
)

_FTS5 = (
    # The whole FTS5 index lives beside the table it indexes (external content): the text is
    # stored once, in ``runs``, and triggers keep the index in step with every write.
    "CREATE VIRTUAL TABLE runs_fts USING fts5("
    "prompt, answer, content='runs', content_rowid='rowid', tokenize='unicode61')",
    "INSERT INTO runs_fts (runs_fts) VALUES ('rebuild')",
    "CREATE TRIGGER runs_fts_insert AFTER INSERT ON runs BEGIN "
    "INSERT INTO runs_fts (rowid, prompt, answer) VALUES (new.rowid, new.prompt, new.answer); "
    "END",
    "CREATE TRIGGER runs_fts_delete AFTER DELETE ON runs BEGIN "
    "INSERT INTO runs_fts (runs_fts, rowid, prompt, answer) "
    "VALUES ('delete', old.rowid, old.prompt, old.answer); "
    "END",
    "CREATE TRIGGER runs_fts_update AFTER UPDATE OF prompt, answer ON runs BEGIN "
    "INSERT INTO runs_fts (runs_fts, rowid, prompt, answer) "
    "VALUES ('delete', old.rowid, old.prompt, old.answer); "
    "INSERT INTO runs_fts (rowid, prompt, answer) VALUES (new.rowid, new.prompt, new.answer); "
    "END",
)

PG_RUNS_TEXT = (
    "to_tsvector('simple'::regconfig, coalesce(prompt, '') || ' ' || coalesce(answer, ''))"
)
"""What PostgreSQL's full-text index holds of a run (a search names the same expression)."""

_RESERVATIONS_SEARCH_INDEXES = Migration(
    add=(("runs", RUN_COLUMNS_V2),),
    sql=(
        # Runs holding a spending-cap reservation (few at any time).
        "CREATE INDEX idx_runs_reserved ON runs (reserved_usd) WHERE reserved_usd IS NOT NULL",
        # Stats and cap checks read these instead of the wide rows (covering indexes).
        "CREATE INDEX idx_runs_stats ON runs (started_at, strategy, status, escalated, "
        "cost_usd, strong_only_cost_usd, reserved_usd, id)",
        "CREATE INDEX idx_calls_stats ON calls (provider, model, started_at, cost_usd)",
        "CREATE INDEX idx_calls_run_seq ON calls (run_id, seq)",
        "DROP INDEX idx_calls_run_id",
    ),
    sqlite=_FTS5,
    postgresql=(f"CREATE INDEX idx_runs_fts ON runs USING gin ({PG_RUNS_TEXT})",),
)

_RUNNING_RUNS_INDEX = Migration(
    sql=("CREATE INDEX idx_runs_running ON runs (started_at) WHERE status = 'running'",)
)

_ANSWER_SHAPES = Migration(add=(("runs", RUN_COLUMNS_V4),))

_FINGERPRINTS = Migration(
    add=(("runs", RUN_COLUMNS_V5),),
    sql=(
        # A reuse look-up: the newest run with this fingerprint (only runs that have one).
        "CREATE INDEX idx_runs_fingerprint ON runs (fingerprint, started_at) "
        "WHERE fingerprint IS NOT NULL",
        "CREATE INDEX idx_runs_reused ON runs (started_at, reused_from) WHERE status = 'reused'",
    ),
)

_UNTRUSTED_USAGE = Migration(add=(("calls", CALL_COLUMNS_V6),))

_SERVICE_TIERS = Migration(add=(("calls", CALL_COLUMNS_V7),))

# ``think ledger --batch ID``: a batch's runs (only runs that were part of one).
_BATCHES = Migration(
    add=(("runs", RUN_COLUMNS_V8),),
    sql=("CREATE INDEX idx_runs_batch ON runs (batch_id, started_at) WHERE batch_id IS NOT NULL",),
)

# Who ran a run, and the clock its reservation counted by; ``think ledger --user NAME``.
_USERS = Migration(
    add=(("runs", RUN_COLUMNS_V9),),
    sql=("CREATE INDEX idx_runs_user ON runs (username, started_at)",),
)

MIGRATIONS: list[Migration] = [
    _INITIAL,
    _RESERVATIONS_SEARCH_INDEXES,
    _RUNNING_RUNS_INDEX,
    _ANSWER_SHAPES,
    _FINGERPRINTS,
    _UNTRUSTED_USAGE,
    _SERVICE_TIERS,
    _BATCHES,
    _USERS,
]
"""``MIGRATIONS[i]`` takes a ledger from version ``i`` to ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)
