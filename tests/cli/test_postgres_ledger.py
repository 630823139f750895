"""A team's ledger on a real PostgreSQL server (``THINK_LEDGER=postgresql://…``): a query
recorded, every ``think ledger`` command, the same answers as a SQLite file from the same
runs, and the password nowhere; a server out of reach or psycopg missing: one line, exit 6,
nothing sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_ledger_cli import fill
from tests.cli_support import MODEL, Result, assert_one_error_line, run_cli, use_server
from tests.fakes.loopback import free_port
from tests.fakes.openai_server import FakeOpenAIServer
from tests.ledger_support import finished_run, record
from tests.postgres_support import PG_PASSWORD, pg_rows
from think.errors import ExitCode
from think.ledger.abandoned import this_host
from think.ledger.location import POSTGRES_EXTRA
from think.ledger.schema import CALL_COLUMNS, RUN_COLUMNS, SCHEMA_VERSION
from think.ledger.store import Ledger


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


def no_password(*results: Result) -> None:
    for result in results:
        assert PG_PASSWORD not in result.out + result.err
        assert "Traceback" not in result.err


def test_a_query_is_recorded_and_every_ledger_command_reads_it(
    server: FakeOpenAIServer,
    pg_ledger: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    def think(*argv: str) -> Result:
        result = run_cli(list(argv), capsys, monkeypatch)
        no_password(result)
        return result

    asked = think("-m", MODEL, "what is the capital of France?")
    assert asked.code == ExitCode.OK, asked.err
    (run,) = pg_rows(pg_ledger, "SELECT * FROM runs")
    assert run["status"] == "ok"
    assert run["prompt"] == "what is the capital of France?"
    assert run["reserved_usd"] is None
    (call,) = pg_rows(pg_ledger, "SELECT * FROM calls WHERE run_id = %s", (run["id"],))
    assert call["status"] == "ok"
    run_id = str(run["id"])

    listed = think("ledger", "--json")
    assert [json.loads(line)["id"] for line in listed.out.splitlines()] == [run_id]
    found = think("ledger", "-q", "capital FRAN*", "--json")
    assert [json.loads(line)["id"] for line in found.out.splitlines()] == [run_id]
    assert think("ledger", "-q", "berlin", "--json").out == ""
    assert think("ledger", "--model", "gpt-4o-mini", "--json").out.count("\n") == 1
    shown = think("ledger", "show", run_id[:6], "--json").json
    assert shown["run"]["id"] == run_id
    assert [c["seq"] for c in shown["calls"]] == [1]
    stats = think("ledger", "stats", "--json").json
    assert stats["total"]["runs"] == 1
    assert think("ledger", "stats", "--by", "model", "--json").json["rows"][0]["calls"] == 1
    (line,) = think("ledger", "export").out.splitlines()
    assert json.loads(line)["run"]["id"] == run_id
    csv_lines = think("ledger", "export", "--format", "csv").out.splitlines()
    assert len(csv_lines) == 2

    backup = think("ledger", "backup", str(tmp_path / "copy.db"))
    assert backup.code == ExitCode.USAGE
    assert_one_error_line(backup.err, "pg_dump")
    assert not (tmp_path / "copy.db").exists()

    pruned = think("ledger", "prune", "--before", "2099-01-01", "--yes")
    assert pruned.code == ExitCode.OK, pruned.err
    assert "deleted 1 runs and 1 calls" in pruned.out
    assert pg_rows(pg_ledger, "SELECT count(*) AS n FROM calls") == [{"n": 0}]


def test_the_same_runs_give_the_same_answers_on_both_engines(
    pg_url: str,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fill(ledger_path)
    fill(pg_url)

    def on_both(*argv: str) -> tuple[str, str]:
        outs = []
        for location in (str(ledger_path), pg_url):
            monkeypatch.setenv("THINK_LEDGER", location)
            result = run_cli(list(argv), capsys, monkeypatch)
            assert result.code == ExitCode.OK, result.err
            outs.append(result.out)
        return outs[0], outs[1]

    for by in ("day", "week", "strategy", "shape", "model", "provider"):
        sqlite_out, pg_out = on_both("ledger", "stats", "--by", by, "--json")
        assert json.loads(sqlite_out) == json.loads(pg_out), by
    for argv in (
        ["ledger", "--json"],
        ["ledger", "--json", "--escalated"],
        ["ledger", "--json", "-q", "integral"],
        ["ledger", "--json", "--model", "o4-mini"],
        ["ledger", "--json", "--status", "error"],
        ["ledger", "export"],
    ):
        sqlite_out, pg_out = on_both(*argv)
        assert sqlite_out == pg_out, argv
        assert sqlite_out


def test_a_new_database_is_migrated_to_the_current_schema(
    pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THINK_LEDGER", pg_url)
    result = run_cli(["ledger"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    assert "no runs recorded yet" in result.out
    assert pg_rows(pg_url, "SELECT version FROM schema_version") == [{"version": SCHEMA_VERSION}]

    def columns(table: str) -> list[object]:
        sql = (
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s ORDER BY ordinal_position"
        )
        return [row["column_name"] for row in pg_rows(pg_url, sql, (table,))]

    assert columns("runs") == list(RUN_COLUMNS)
    assert columns("calls") == list(CALL_COLUMNS)
    indexes = {row["indexname"] for row in pg_rows(pg_url, "SELECT indexname FROM pg_indexes")}
    assert {"idx_runs_started_at", "idx_runs_stats", "idx_runs_fts", "idx_runs_fingerprint"} <= (
        indexes
    )
    # opened again: nothing to migrate, the version stays
    assert run_cli(["ledger"], capsys, monkeypatch).code == ExitCode.OK
    assert pg_rows(pg_url, "SELECT count(*) AS n FROM schema_version") == [{"n": 1}]


def test_the_password_is_masked_in_config_show_and_ledger_path(
    pg_ledger: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = run_cli(["config", "show", "--json"], capsys, monkeypatch)
    assert shown.code == ExitCode.OK, shown.err
    value = shown.json["settings"]["ledger"]["value"]
    assert value.startswith("postgresql://think_admin:")
    assert value.endswith(pg_ledger.rpartition("@")[2])
    table = run_cli(["config", "show"], capsys, monkeypatch)
    path = run_cli(["ledger", "path"], capsys, monkeypatch)
    no_password(shown, table, path)
    assert path.out.strip() == value


def unreachable_url() -> str:
    return f"postgresql://think_admin:{PG_PASSWORD}@127.0.0.1:{free_port()}/team"


def test_an_unreachable_server_stops_the_run_before_anything_is_sent(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = unreachable_url()
    where = url.rpartition("@")[2]  # 127.0.0.1:PORT/team
    monkeypatch.setenv("THINK_LEDGER", url)
    asked = run_cli(["-m", MODEL, "hello"], capsys, monkeypatch)
    assert asked.code == ExitCode.NOT_RECORDED
    assert asked.out == ""
    assert_one_error_line(asked.err, where)
    assert "nothing was sent" in asked.err
    monkeypatch.setenv("THINK_DAILY_BUDGET", "1")
    capped = run_cli(["-m", MODEL, "hello"], capsys, monkeypatch)
    assert capped.code == ExitCode.NOT_RECORDED
    assert_one_error_line(capped.err, "cannot check the spending caps")
    listed = run_cli(["ledger"], capsys, monkeypatch)
    assert listed.code == ExitCode.NOT_RECORDED
    assert_one_error_line(listed.err, where)
    no_password(asked, capped, listed)
    assert server.chat_requests == []


def test_without_psycopg_one_line_names_the_extra(server: FakeOpenAIServer) -> None:
    blocked = (
        "import sys; sys.modules['psycopg'] = None; sys.argv = ['think', *sys.argv[1:]]; "
        "from think.cli.entry import main; main()"
    )
    env = {**os.environ, "THINK_LEDGER": unreachable_url()}
    for argv in (["ledger"], ["-m", MODEL, "hello"]):
        done = subprocess.run(
            [sys.executable, "-c", blocked, *argv],
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
        err = done.stderr.decode()
        assert done.returncode == ExitCode.NOT_RECORDED, err
        assert_one_error_line(err, POSTGRES_EXTRA)
        assert PG_PASSWORD not in err
    assert server.chat_requests == []


def test_runs_of_one_host(
    engine_ledger: Ledger, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    here = finished_run("aaaa", "2026-03-01T10:00:00.000Z")
    there = finished_run("bbbb", "2026-03-01T11:00:00.000Z")
    for run in (here, there):
        record(engine_ledger, run)
    engine_ledger.conn.execute("UPDATE runs SET reserved_host = 'ci-runner-7' WHERE id = 'bbbb'")
    monkeypatch.setenv("THINK_LEDGER", str(engine_ledger.location))
    for host, expected in (("ci-runner-7", ["bbbb"]), (this_host(), ["aaaa"]), ("nope", [])):
        result = run_cli(["ledger", "--host", host, "--json"], capsys, monkeypatch)
        assert result.code == ExitCode.OK, result.err
        assert [json.loads(line)["id"] for line in result.out.splitlines()] == expected


def test_a_vanished_server_is_noticed_by_keepalives_unless_the_url_says_otherwise(
    pg_url: str,
) -> None:
    """libpq's TCP keepalives and ``tcp_user_timeout`` are on by default (a dead host is
    noticed in about a minute, not the kernel's 15); a URL's own values win."""
    with Ledger(pg_url) as ledger:
        given = ledger.engine.conn.info.get_parameters()  # type: ignore[attr-defined]
    assert (given["keepalives_idle"], given["tcp_user_timeout"]) == ("30", "60000")
    separator = "&" if "?" in pg_url else "?"
    with Ledger(f"{pg_url}{separator}keepalives_idle=5") as ledger:
        given = ledger.engine.conn.info.get_parameters()  # type: ignore[attr-defined]
    assert (given["keepalives_idle"], given["keepalives_count"]) == ("5", "3")
