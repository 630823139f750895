"""Whose run is whose (migration 9): every run records its user (``user`` / ``THINK_USER``,
else the login name) and a capped run the clock its reservation counted by
(``budget_timezone``); ``think ledger --user`` filters by it and ``show``, ``--json``,
``export`` and the table show it, on a SQLite file and on PostgreSQL alike. A v8 ledger file
migrates with its rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli_support import MODEL, Result, assert_one_error_line, run_cli, use_server
from tests.fakes.openai_server import FakeOpenAIServer
from tests.ledger_support import finished_run, record
from think.errors import ExitCode
from think.ledger.abandoned import this_host
from think.ledger.schema import MIGRATIONS, RUN_COLUMNS, SCHEMA_VERSION
from think.ledger.store import Ledger


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, ledger_path: Path) -> str:
    """``THINK_LEDGER``: the test's file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(ledger_path)
    url: str = request.getfixturevalue("pg_url")
    return url


def test_every_run_records_its_user_and_a_capped_run_its_clock(
    server: FakeOpenAIServer,
    location: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("THINK_LEDGER", location)
    monkeypatch.setenv("LOGNAME", "login-bob")  # what getpass.getuser() reads first

    def think(*argv: str) -> Result:
        result = run_cli(list(argv), capsys, monkeypatch)
        assert result.code == ExitCode.OK, result.err
        return result

    think("-m", MODEL, "uncapped, by the login name")
    monkeypatch.setenv("THINK_USER", "alice")
    monkeypatch.setenv("THINK_DAILY_BUDGET", "1")
    monkeypatch.setenv("THINK_BUDGET_TIMEZONE", "UTC")
    think("-m", MODEL, "--max-cost", "0.05", "capped, by alice, in UTC")
    monkeypatch.delenv("THINK_BUDGET_TIMEZONE")
    think("-m", MODEL, "--max-cost", "0.05", "capped, by alice, in local time")
    for name in ("THINK_USER", "THINK_DAILY_BUDGET"):
        monkeypatch.delenv(name)

    listed = [json.loads(line) for line in think("ledger", "--json").out.splitlines()]
    by_prompt = {run["prompt"]: run for run in listed}
    assert len(by_prompt) == 3
    bob = by_prompt["uncapped, by the login name"]
    utc = by_prompt["capped, by alice, in UTC"]
    local = by_prompt["capped, by alice, in local time"]
    assert bob["username"] == "login-bob"
    assert bob["budget_timezone"] is None  # no cap applied
    assert utc["username"] == local["username"] == "alice"
    assert utc["budget_timezone"] == "UTC"
    assert local["budget_timezone"].startswith("local (")
    assert {run["reserved_host"] for run in listed} == {this_host()}
    assert {run["status"] for run in listed} == {"ok"}  # settled: the clock stays

    alices = think("ledger", "--user", "alice", "--json").out.splitlines()
    assert sorted(json.loads(line)["prompt"] for line in alices) == [
        "capped, by alice, in UTC",
        "capped, by alice, in local time",
    ]
    both = think("ledger", "--user", "login-bob", "--host", this_host(), "--json").out
    assert [json.loads(line)["id"] for line in both.splitlines()] == [bob["id"]]
    assert "no runs match" in think("ledger", "--user", "carol").out

    shown = think("ledger", "show", utc["id"], "--json").json["run"]
    assert (shown["username"], shown["budget_timezone"]) == ("alice", "UTC")
    person = think("ledger", "show", utc["id"]).out
    assert f"alice on {this_host()}" in person
    assert "days and months in UTC" in person
    exported = [json.loads(line)["run"] for line in think("ledger", "export").out.splitlines()]
    assert {run["username"] for run in exported} == {"alice", "login-bob"}
    header = think("ledger", "export", "--format", "csv").out.splitlines()[0].split(",")
    assert {"run_username", "run_budget_timezone"} <= set(header)

    monkeypatch.setenv("COLUMNS", "120")
    table = run_cli(["ledger", "--no-pager"], capsys, monkeypatch, tty=True).out
    assert len(table.splitlines()) == 4  # the heading and three runs
    heading = table.splitlines()[0].split()
    assert heading[heading.index("cost") + 1 : heading.index("cost") + 3] == ["user", "host"]
    assert "login-bob" in table
    one_user = run_cli(["ledger", "--user", "alice", "--no-pager"], capsys, monkeypatch, tty=True)
    assert "user" not in one_user.out.splitlines()[0].split()  # one user: no column


def test_an_empty_user_setting_means_the_login_name_and_control_characters_are_refused(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGNAME", "login-bob")
    monkeypatch.setenv("THINK_USER", "  ")
    assert run_cli(["-m", MODEL, "hi"], capsys, monkeypatch).code == ExitCode.OK
    with Ledger(ledger_path) as ledger:
        assert ledger.one("SELECT username FROM runs") == {"username": "login-bob"}
    monkeypatch.setenv("THINK_USER", "eve\x1b[2J")
    bad = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert bad.code == ExitCode.USAGE
    assert_one_error_line(bad.err, "user")
    assert len(server.chat_requests) == 1


def create_v8(path: Path) -> None:
    from think.ledger.sqlite_file import column_type

    conn = sqlite3.connect(path)
    try:
        for step in MIGRATIONS[:8]:
            for statement in step.statements("sqlite", column_type):
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 8")
        conn.commit()
    finally:
        conn.close()


def test_a_v8_ledger_file_migrates_and_keeps_its_runs(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert SCHEMA_VERSION == 9
    create_v8(ledger_path)
    conn = sqlite3.connect(ledger_path)
    conn.execute(
        "INSERT INTO runs (id, started_at, status, strategy, prompt, cost_usd, reserved_host)"
        " VALUES ('0123456789abcdef', '2026-06-01T10:00:00.000Z', 'ok', 'single', 'old run',"
        " 0.002, 'old-host')"
    )
    conn.commit()
    conn.close()

    listed = run_cli(["ledger", "--json"], capsys, monkeypatch)
    assert listed.code == ExitCode.OK, listed.err
    (old,) = [json.loads(line) for line in listed.out.splitlines()]
    assert (old["prompt"], old["reserved_host"]) == ("old run", "old-host")
    assert old["username"] is None
    assert old["budget_timezone"] is None
    conn = sqlite3.connect(ledger_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 9
        columns = [row[1] for row in conn.execute("PRAGMA table_info(runs)")]
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert columns == list(RUN_COLUMNS)
    assert "idx_runs_user" in indexes

    with Ledger(ledger_path, user="dana") as ledger:  # a run recorded after the migration
        record(ledger, finished_run("fedcba9876543210", "2026-06-02T10:00:00.000Z", "0.01"))
    dana = run_cli(["ledger", "--user", "dana", "--json"], capsys, monkeypatch)
    assert [json.loads(line)["id"] for line in dana.out.splitlines()] == ["fedcba9876543210"]
    unknown = run_cli(["ledger", "show", "0123"], capsys, monkeypatch)
    assert "unknown user on old-host" in unknown.out
