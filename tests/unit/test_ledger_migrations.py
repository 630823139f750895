"""Schema migrations: migration 1 is frozen, and older ledgers upgrade with their rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.paths import FIXTURES
from think.errors import LedgerError
from think.ledger.queries import RunFilter, list_runs
from think.ledger.schema import CALL_COLUMNS, MIGRATIONS, RUN_COLUMNS, SCHEMA_VERSION
from think.ledger.store import Ledger

SCHEMA_V1 = FIXTURES / "ledger" / "schema_v1.sql"
INDEXES = {
    "idx_runs_started_at",
    "idx_runs_reserved",
    "idx_runs_stats",
    "idx_calls_stats",
    "idx_runs_fingerprint",
    "idx_runs_reused",
    "idx_runs_batch",
}


def schema_sql(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [
            row[0] + ";"
            for row in conn.execute(
                "select sql from sqlite_master where sql is not null order by rowid"
            )
        ]
    finally:
        conn.close()


def frozen_v1() -> list[str]:
    text = SCHEMA_V1.read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return [statement.strip() + ";" for statement in body.split(";") if statement.strip()]


def create_v1(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(SCHEMA_V1.read_text(encoding="utf-8"))
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
    finally:
        conn.close()


def columns(path: Path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


def test_migration_1_still_creates_the_released_schema(tmp_path: Path) -> None:
    from think.ledger.sqlite_file import column_type

    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0].statements("sqlite", column_type):
        conn.execute(statement)
    conn.commit()
    conn.close()
    assert schema_sql(path) == frozen_v1()


def test_an_empty_database_migrates_to_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    sqlite3.connect(path).close()
    Ledger(path).close()
    assert columns(path, "runs") == list(RUN_COLUMNS)
    assert columns(path, "calls") == list(CALL_COLUMNS)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = {row[0] for row in conn.execute("select name from sqlite_master")}
    finally:
        conn.close()
    assert INDEXES | {"runs_fts"} <= names


def test_a_released_v1_ledger_migrates_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    create_v1(path)
    conn = sqlite3.connect(path)
    conn.execute(
        "insert into runs (id, started_at, status, strategy, prompt, answer, cost_usd, calls)"
        " values ('0123456789abcdef', '2025-06-01T10:00:00.000Z', 'ok', 'single',"
        " 'how tall is the eiffel tower', '330 metres', 0.002, 1)"
    )
    conn.execute(
        "insert into calls (id, run_id, seq, provider, model, status, cost_usd, reasoning)"
        " values ('0123456789abcdef-001', '0123456789abcdef', 1, 'openai', 'o4-mini', 'ok',"
        " 0.002, 'the tower is about 330 m')"
    )
    conn.commit()
    conn.close()

    ledger = Ledger(path)
    try:
        (stored,) = list_runs(ledger, RunFilter(), 5)
        run = stored.row
        (call,) = ledger.calls_of(run["id"])
        found = list(ledger.rows("select rowid from runs_fts where runs_fts match 'eiffel'"))
    finally:
        ledger.close()
    assert columns(path, "runs") == list(RUN_COLUMNS)
    assert columns(path, "calls") == list(CALL_COLUMNS)
    assert run["prompt"] == "how tall is the eiffel tower"
    assert run["cost_usd"] == pytest.approx(0.002)
    assert run["reserved_usd"] is None
    assert run["no_log"] is None
    assert call["reasoning"] == "the tower is about 330 m"
    assert len(found) == 1  # old rows are in the new full-text index


def test_a_failed_migration_leaves_the_ledger_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    create_v1(path)
    conn = sqlite3.connect(path)
    conn.execute("create table runs_fts (x)")  # in the way of migration 2
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="runs_fts"):
        Ledger(path)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    finally:
        conn.close()
    assert "reserved_usd" not in columns(path, "runs")


def test_a_reuse_look_up_is_one_search_of_the_fingerprint_index(tmp_path: Path) -> None:
    from think.ledger.reuse import ORIGINAL_SQL, find_original

    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        assert find_original(ledger, "f" * 64, "") is None
        plan = " ".join(
            str(row["detail"])
            for row in ledger.rows(f"EXPLAIN QUERY PLAN {ORIGINAL_SQL}", ["f" * 64, ""])
        )
    assert "SEARCH runs USING INDEX idx_runs_fingerprint" in plan
    assert "TEMP B-TREE" not in plan
