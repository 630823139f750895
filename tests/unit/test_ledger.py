"""The SQLite ledger: the file, its schema and migrations, what runs write, ``think ledger``."""

from __future__ import annotations

import json
import sqlite3
import stat
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli_support import (
    API_KEY,
    MODEL,
    assert_one_error_line,
    calls,
    run_cli,
    runs,
    use_server,
)
from tests.fakes.openai_server import FakeOpenAIServer, invalid_api_key
from tests.ledger_support import LEDGER_TABLE_COLUMNS, make_call, make_run
from think import events
from think.errors import ExitCode, LedgerError
from think.ledger.queries import RunFilter, list_runs
from think.ledger.recorder import LedgerRecorder
from think.ledger.schema import CALL_COLUMNS, MIGRATIONS, RUN_COLUMNS, SCHEMA_VERSION
from think.ledger.store import Ledger
from think.pricing import Cost
from think.usage import Usage

SQL_TYPES = {str: "TEXT", int: "INTEGER", float: "REAL"}


def pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def columns(path: Path, table: str) -> dict[str, tuple[str, int, int]]:
    conn = sqlite3.connect(path)
    try:
        return {
            name: (kind, notnull, pk)
            for _, name, kind, notnull, _, pk in conn.execute(f"PRAGMA table_info({table})")
        }
    finally:
        conn.close()


# ----------------------------------------------------------------------------------------
# The file and the schema


def test_new_ledger_file_is_private_wal_and_current(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "ledger.db"
    ledger = Ledger(path)
    ledger.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pragma(path, "journal_mode") == "wal"
    assert pragma(path, "user_version") == SCHEMA_VERSION == len(MIGRATIONS)


def test_wal_file_is_private_too(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger(path)
    try:
        ledger.record_run(make_run())
        wal = path.with_name(path.name + "-wal")
        assert wal.exists()
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    finally:
        ledger.close()


def test_schema_matches_ledger_schema(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger(path).close()
    run_cols = columns(path, "runs")
    call_cols = columns(path, "calls")
    assert list(run_cols) == list(RUN_COLUMNS)
    assert list(call_cols) == list(CALL_COLUMNS)
    assert {name: kind for name, (kind, _, _) in run_cols.items()} == {
        name: SQL_TYPES[kind] for name, kind in RUN_COLUMNS.items()
    }
    assert {name: kind for name, (kind, _, _) in call_cols.items()} == {
        name: SQL_TYPES[kind] for name, kind in CALL_COLUMNS.items()
    }
    assert run_cols["id"][2] == 1
    assert call_cols["id"][2] == 1
    assert {n for n, (_, notnull, _) in run_cols.items() if notnull} == {
        "started_at",
        "status",
        "strategy",
    }
    assert {n for n, (_, notnull, _) in call_cols.items() if notnull} == {
        "run_id",
        "seq",
        "provider",
        "model",
        "status",
    }
    conn = sqlite3.connect(path)
    try:
        fks = conn.execute("PRAGMA foreign_key_list(calls)").fetchall()
        assert [(fk[2], fk[3], fk[4]) for fk in fks] == [("runs", "run_id", "id")]
        indexed = {
            row[0] for row in conn.execute("select tbl_name from sqlite_master where type='index'")
        }
        assert {"runs", "calls"} <= indexed
    finally:
        conn.close()


def test_migrates_an_existing_empty_database(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version")  # a valid, empty database file
    conn.close()
    path.touch()
    assert pragma(path, "user_version") == 0
    Ledger(path).close()
    assert pragma(path, "user_version") == SCHEMA_VERSION
    assert set(columns(path, "runs")) == set(RUN_COLUMNS)


def test_migrates_a_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"")
    Ledger(path).close()
    assert pragma(path, "user_version") == SCHEMA_VERSION


def test_reopening_keeps_the_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger(path)
    ledger.record_run(make_run())
    ledger.close()
    ledger = Ledger(path)
    try:
        assert [row.id for row in list_runs(ledger, RunFilter(), 10)] == ["r1"]
    finally:
        ledger.close()
    assert pragma(path, "user_version") == SCHEMA_VERSION


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(LedgerError, match="upgrade think"):
        Ledger(path)


def test_garbage_file_is_a_ledger_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"\x00\xffnot sqlite" * 500)
    with pytest.raises(LedgerError, match="cannot open ledger"):
        Ledger(path)


def test_unusable_location_is_a_ledger_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(LedgerError, match="cannot open ledger"):
        Ledger(blocker / "ledger.db")


# ----------------------------------------------------------------------------------------
# Rows


def test_run_and_call_rows_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger(path)
    try:
        ledger.record_run(make_run())
        ledger.record_call(make_call())
        ledger.record_run(
            make_run(
                status="ok",
                answer="4",
                finished_at="2025-01-02T03:04:06.000Z",
                cost=Cost(Decimal("0.0000027"), "computed"),
                usage=Usage(input_tokens=10, output_tokens=2),
                calls=1,
                exit_code=0,
            )
        )
        (stored,) = list_runs(ledger, RunFilter(), 5)
        run = stored.row
        (call,) = ledger.calls_of("r1")
    finally:
        ledger.close()
    assert run["status"] == "ok"  # the second write replaced the first
    assert run["answer"] == "4"
    assert json.loads(run["models"]) == [MODEL]
    assert run["cost_usd"] == pytest.approx(2.7e-6)
    assert run["max_cost_usd"] == 0.5
    assert run["input_tokens"] == 10
    assert run["think_version"]
    assert call["text"] == "4"
    assert call["finish_reason"] == "stop"
    assert call["usage_source"] == "reported"
    assert call["cost_source"] == "computed"


def test_the_read_side_decodes_each_row_once_into_typed_records(tmp_path: Path) -> None:
    from think.ledger.queries import calls_of, find_run

    ledger = Ledger(tmp_path / "ledger.db")
    try:
        ledger.record_run(
            make_run(
                status="ok",
                votes={"4": 2, "5": 1},
                stages=("cheap", "strong"),
                escalated=True,
                cost=Cost(Decimal("0.0000027"), "computed"),
                usage=Usage(input_tokens=10, output_tokens=2),
                calls=1,
            )
        )
        ledger.record_call(make_call())
        run = find_run(ledger, "r")
        (call,) = calls_of(ledger, run)
    finally:
        ledger.close()
    assert run.models == [MODEL]
    assert run.votes == {"4": 2, "5": 1}
    assert run.stages == ["cheap", "strong"]
    assert run.escalated is True
    assert run.no_log is False
    assert run.cost_usd == Decimal("0.0000027")
    assert run.max_cost_usd == Decimal("0.5")
    assert run.input_tokens == 10
    assert run.document()["votes"] == {"4": 2, "5": 1}  # --json gets the decoded values
    assert run.row["votes"] == '{"4": 2, "5": 1}'  # --csv the stored ones
    assert (call.seq, call.provider, call.model, call.status) == (1, "openai", "gpt-4o-mini", "ok")
    assert (call.latency_ms, call.ttft_ms, call.finish_reason) == (120, 40, "stop")
    assert isinstance(call.cost_usd, Decimal)


def test_call_with_several_choices_stores_all_texts(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    try:
        ledger.record_run(make_run())
        ledger.record_call(make_call(n=2, texts=("4", "four"), finish_reasons=("stop", None)))
        (call,) = ledger.calls_of("r1")
    finally:
        ledger.close()
    assert json.loads(call["text"]) == ["4", "four"]
    assert call["finish_reason"] == "stop"


def test_list_runs_newest_first_with_limit(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    try:
        for i in range(5):
            ledger.record_run(make_run(f"r{i}", started_at=f"2025-01-0{i + 1}T00:00:00.000Z"))
        assert [r.id for r in list_runs(ledger, RunFilter(), 3)] == ["r4", "r3", "r2"]
    finally:
        ledger.close()


def test_recorder_keeps_the_first_error_and_stops_writing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    recorder = LedgerRecorder(ledger)
    try:
        recorder(events.RunStarted(make_run()))
        # A call whose run does not exist breaks the foreign key: a ledger error.
        recorder(events.CallFinished(make_call(run_id="missing")))
        assert isinstance(recorder.error, LedgerError)
        first = recorder.error
        recorder(events.RunFinished(make_run(status="ok")))
        assert recorder.error is first
        assert [r.status for r in list_runs(ledger, RunFilter(), 5)] == ["running"]
    finally:
        ledger.close()


def test_recorder_leaves_a_start_already_recorded_alone(tmp_path: Path) -> None:
    """A spending-cap reservation wrote the run's start: the recorder writes only its end."""
    ledger = Ledger(tmp_path / "ledger.db")
    recorder = LedgerRecorder(ledger, start_recorded=True)
    try:
        recorder(events.RunStarted(make_run()))
        assert list_runs(ledger, RunFilter(), 5) == []
        recorder(events.RunFinished(make_run(status="ok")))
        assert [r.status for r in list_runs(ledger, RunFilter(), 5)] == ["ok"]
        assert recorder.error is None
    finally:
        ledger.close()


def test_recorder_without_a_ledger_is_inert() -> None:
    error = LedgerError("cannot open ledger x: nope")
    recorder = LedgerRecorder(None, error)
    recorder(events.RunStarted(make_run()))
    assert recorder.error is error


# ----------------------------------------------------------------------------------------
# Through the CLI


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    monkeypatch.setenv("COLUMNS", "200")
    return fake_openai


def ask(
    prompt: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *extra: str,
) -> str:
    result = run_cli(["-m", MODEL, "--json", *extra, prompt], capsys, monkeypatch)
    return str(result.json["run_id"])


def test_ledger_file_created_by_a_run(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not ledger_path.exists()
    run_id = ask("hello there", capsys, monkeypatch)
    assert stat.S_IMODE(ledger_path.stat().st_mode) == 0o600
    assert pragma(ledger_path, "journal_mode") == "wal"
    (run,) = runs(ledger_path)
    assert run["id"] == run_id
    assert run["prompt"] == "hello there"
    (call,) = calls(ledger_path, run_id)
    assert call["id"].startswith(run_id)


def test_think_ledger_lists_runs(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = ask("first question", capsys, monkeypatch)
    second = ask("second question", capsys, monkeypatch, "--max-cost", "0.0000001")
    result = run_cli(["ledger"], capsys, monkeypatch, tty=True)
    assert result.code == ExitCode.OK
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0].split() == LEDGER_TABLE_COLUMNS
    assert second[:8] in lines[1]
    assert " budget " in lines[1]
    assert "second question" in lines[1]
    assert first[:8] in lines[2]
    assert " ok " in lines[2]
    assert "gpt-4o-mini" in lines[2]
    assert "first question" in lines[2]
    assert "$0.0000" in lines[2]
    assert len(lines) == 3

    limited = run_cli(["ledger", "-n", "1"], capsys, monkeypatch, tty=True)
    assert limited.code == ExitCode.OK
    assert len(limited.out.splitlines()) == 2
    assert second[:8] in limited.out
    assert first[:8] not in limited.out


def test_think_ledger_json_lines(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [ask(f"question {i}", capsys, monkeypatch) for i in range(3)]
    result = run_cli(["ledger", "--json"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    rows = [json.loads(line) for line in result.out.splitlines()]
    assert [row["id"] for row in rows] == ids[::-1]
    for row in rows:
        assert set(RUN_COLUMNS) <= set(row)
        assert row["models"] == [MODEL]
        assert row["status"] == "ok"
        assert row["answer"] == "The answer is 4."
    result = run_cli(["ledger", "--json", "--limit", "2"], capsys, monkeypatch)
    assert [json.loads(line)["id"] for line in result.out.splitlines()] == ids[:0:-1]


def test_think_ledger_when_empty(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["ledger"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert result.out == "no runs recorded yet\n"
    result = run_cli(["ledger", "--json"], capsys, monkeypatch)
    assert (result.code, result.out) == (ExitCode.OK, "")


def test_think_ledger_path(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["ledger", "path"], capsys, monkeypatch)
    assert (result.code, result.out) == (ExitCode.OK, f"{ledger_path}\n")


def test_think_ledger_on_a_corrupt_file(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger_path.write_bytes(b"garbage" * 1000)
    result = run_cli(["ledger"], capsys, monkeypatch)
    assert result.code != ExitCode.OK
    assert result.out == ""
    assert_one_error_line(result.err, "cannot open ledger")


def test_corrupt_ledger_the_answer_still_reaches_stdout(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    garbage = bytes(range(256)) * 64
    ledger_path.write_bytes(garbage)
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.out == "The answer is 4.\n"
    assert result.code == ExitCode.NOT_RECORDED
    assert_one_error_line(result.err, "the run was not recorded")
    assert ledger_path.read_bytes() == garbage  # left alone


def test_unwritable_ledger_location_the_answer_still_reaches_stdout(
    server: FakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("THINK_LEDGER", str(blocker / "ledger.db"))
    result = run_cli(["-m", MODEL, "--json", "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.NOT_RECORDED
    assert result.json["answer"] == "The answer is 4."
    assert result.json["status"] == "ok"
    assert_one_error_line(result.err, "not recorded")


def _ledger_bytes(path: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            data += part.read_bytes()
    return data


def test_api_keys_never_reach_the_ledger(
    server: FakeOpenAIServer,
    ledger_path: Path,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file_key = "sk-from-config-file-9876543210"
    config_path.write_text(
        f'[providers.mirror]\nbase_url = "{server.base_url}"\napi_key = "{file_key}"\n'
        '[prices."mirror:gpt-4o-mini"]\ninput_mtok = 1.0\noutput_mtok = 2.0\n',
        encoding="utf-8",
    )
    assert run_cli(["-m", MODEL, "one"], capsys, monkeypatch).code == ExitCode.OK
    assert run_cli(["-m", "mirror:gpt-4o-mini", "two"], capsys, monkeypatch).code == 0
    server.script(invalid_api_key(API_KEY))
    assert run_cli(["-m", MODEL, "three"], capsys, monkeypatch).code == ExitCode.AUTH
    auth = [r.headers["authorization"] for r in server.chat_requests]
    assert auth == [f"Bearer {API_KEY}", f"Bearer {file_key}", f"Bearer {API_KEY}"]
    assert len(runs(ledger_path)) == 3
    data = _ledger_bytes(ledger_path)
    for key in (API_KEY, file_key):
        assert key.encode() not in data
        assert key.encode("utf-16-le") not in data
