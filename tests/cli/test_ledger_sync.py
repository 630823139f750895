"""A team's PostgreSQL ledger that goes away mid-run, and runs copied between ledgers.

The server is stopped (``pg_ctl stop``) while the fake provider holds its answer: the answer
still reaches stdout, the run waits in the spool with one warning line naming the server, and
``think ledger sync`` (or the next run) delivers it exactly once. ``think ledger push``
copies a local ledger's history into the team's database once, however often it runs. The
password appears in no output.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.test_ledger_cli import fill
from tests.cli_support import MODEL, Result, run_cli, use_server
from tests.fakes.behaviours import DEFAULT_ANSWER
from tests.fakes.openai_server import FakeOpenAIServer
from tests.postgres_support import PG_PASSWORD, PgServer, pg_rows, stopped_during_a_call
from think.errors import ExitCode
from think.ledger.abandoned import MAX_AGE, expire_reservations
from think.ledger.location import server as server_of
from think.ledger.store import Ledger


@pytest.fixture
def provider(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


def think(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str
) -> Result:
    result = run_cli(list(argv), capsys, monkeypatch)
    assert PG_PASSWORD not in result.out + result.err
    assert "Traceback" not in result.err
    return result


def ask_while_the_server_stops(
    provider: FakeOpenAIServer,
    pg_server: PgServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Result:
    """A capped query whose call is in flight when the server stops; the answer arrives once
    it is down. The server is started again before this returns."""
    monkeypatch.setenv("THINK_DAILY_BUDGET", "5")
    with stopped_during_a_call(pg_server, provider):
        return think(capsys, monkeypatch, "-m", MODEL, "what is 2+2?")


def test_the_server_stopped_mid_run_the_answer_printed_and_sync_delivers_it_once(
    provider: FakeOpenAIServer,
    pg_server: PgServer,
    pg_ledger: str,
    isolated_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = ask_while_the_server_stops(provider, pg_server, capsys, monkeypatch)
    assert asked.code == ExitCode.OK, asked.err
    assert DEFAULT_ANSWER in asked.out
    (warning,) = asked.err.splitlines()
    assert server_of(pg_ledger) in warning
    assert "think ledger sync" in warning
    name = server_of(pg_ledger).replace(":", "-").replace("/", "-")
    spool = isolated_env / "spool" / f"{name}.db"
    assert str(spool) in warning
    assert PG_PASSWORD.encode() not in spool.read_bytes()

    # On the server: the run's reservation, held; its call in flight at its worst case.
    (held,) = pg_rows(pg_ledger, "SELECT * FROM runs")
    assert held["status"] == "running"
    assert held["reserved_usd"] is not None
    assert [c["status"] for c in pg_rows(pg_ledger, "SELECT status FROM calls")] == ["running"]

    synced = think(capsys, monkeypatch, "ledger", "sync", "--json").json
    assert (synced["runs_copied"], synced["calls_copied"]) == (1, 1), synced
    again = think(capsys, monkeypatch, "ledger", "sync", "--json").json
    assert again["runs_copied"] == again["calls_copied"] == 0, again
    assert think(capsys, monkeypatch, "ledger", "sync").out.startswith("nothing to deliver")

    (run,) = pg_rows(pg_ledger, "SELECT * FROM runs")
    assert run["id"] == held["id"]
    assert run["status"] == "ok"
    assert run["reserved_usd"] is None
    assert run["answer"] == DEFAULT_ANSWER
    assert run["reserved_host"] == held["reserved_host"]  # the start's columns kept
    (call,) = pg_rows(pg_ledger, "SELECT * FROM calls")
    assert call["status"] == "ok"
    assert call["run_id"] == run["id"]
    assert pg_rows(pg_ledger, "SELECT count(*) AS n FROM runs", ()) == [{"n": 1}]
    with Ledger(spool) as spooled:
        assert spooled.one("SELECT count(*) AS n FROM runs") == {"n": 0}
        assert spooled.one("SELECT count(*) AS n FROM calls") == {"n": 0}
    stats = think(capsys, monkeypatch, "ledger", "stats", "--json").json
    assert stats["total"]["runs"] == 1
    assert stats["total"]["spent_usd"] == pytest.approx(run["cost_usd"])


def test_a_run_abandoned_meanwhile_gets_its_real_record_from_the_next_run(
    provider: FakeOpenAIServer,
    pg_server: PgServer,
    pg_ledger: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = ask_while_the_server_stops(provider, pg_server, capsys, monkeypatch)
    assert asked.code == ExitCode.OK, asked.err
    # The reservation runs out before the spool arrives (here: its age limit, as its process
    # is this test's, alive): the server settles the run as abandoned.
    later = datetime.now(UTC) + MAX_AGE + timedelta(minutes=1)
    with Ledger(pg_ledger) as team, team.immediate(lock="caps") as conn:
        assert expire_reservations(conn, later) == 1
    (abandoned,) = pg_rows(pg_ledger, "SELECT * FROM runs")
    assert abandoned["status"] == "abandoned"
    assert pg_rows(pg_ledger, "SELECT status FROM calls") == [{"status": "abandoned"}]

    second = think(capsys, monkeypatch, "-m", MODEL, "what is 3+3?")
    assert second.code == ExitCode.OK, second.err
    assert "delivered 1 spooled runs" in second.err
    runs = pg_rows(pg_ledger, "SELECT * FROM runs ORDER BY started_at")
    assert [r["status"] for r in runs] == ["ok", "ok"]
    assert runs[0]["id"] == abandoned["id"]
    assert runs[0]["error"] is None
    calls = pg_rows(pg_ledger, "SELECT run_id, status FROM calls ORDER BY started_at")
    assert [c["status"] for c in calls] == ["ok", "ok"]
    total = think(capsys, monkeypatch, "ledger", "stats", "--json").json["total"]
    assert total["runs"] == 2
    assert total["spent_usd"] == pytest.approx(sum(float(r["cost_usd"]) for r in runs))


def test_push_copies_a_local_history_once(
    pg_url: str,
    ledger_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fill(ledger_path)
    with Ledger(ledger_path) as local:
        runs = local.one("SELECT count(*) AS n FROM runs")
        calls = local.one("SELECT count(*) AS n FROM calls")
    assert runs is not None
    assert calls is not None
    first = think(capsys, monkeypatch, "ledger", "push", "--to", pg_url, "--json")
    assert first.code == ExitCode.OK, first.err
    assert first.json["runs_copied"] == runs["n"]
    assert first.json["calls_copied"] == calls["n"]
    assert first.json["to"] == server_of(pg_url)
    second = think(capsys, monkeypatch, "ledger", "push", "--to", pg_url)
    assert second.code == ExitCode.OK, second.err
    assert second.out == (
        f"copied to {server_of(pg_url)}: 0 runs and 0 calls; {runs['n']} runs and "
        f"{calls['n']} calls were already there\n"
    )
    assert pg_rows(pg_url, "SELECT count(*) AS n FROM runs") == [{"n": runs["n"]}]

    local_stats = think(capsys, monkeypatch, "ledger", "stats", "--json").out
    copy = tmp_path / "copy.db"
    to_file = think(capsys, monkeypatch, "ledger", "push", "--to", str(copy), "--json")
    assert to_file.json["runs_copied"] == runs["n"]
    for location in (pg_url, str(copy)):
        monkeypatch.setenv("THINK_LEDGER", location)
        assert think(capsys, monkeypatch, "ledger", "stats", "--json").out == local_stats

    itself = think(capsys, monkeypatch, "ledger", "push", "--to", str(copy))
    assert itself.code == ExitCode.USAGE
    assert "is the ledger itself" in itself.err


def test_sync_on_a_ledger_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = think(capsys, monkeypatch, "ledger", "sync")
    assert result.code == ExitCode.USAGE
    assert "nothing to sync" in result.err


def test_a_batch_whose_team_ledger_goes_away_says_so_once_and_sync_delivers_it(
    provider: FakeOpenAIServer,
    pg_server: PgServer,
    pg_ledger: str,
    isolated_env: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('"what is 2+2?"\n"what is 3+3?"\n', encoding="utf-8")
    with stopped_during_a_call(pg_server, provider):
        result = think(capsys, monkeypatch, "batch", str(prompts), "-m", MODEL)
    assert result.code == ExitCode.OK, result.err
    assert result.out.count(DEFAULT_ANSWER) == 2
    (warning,) = [line for line in result.err.splitlines() if "went away" in line]
    assert server_of(pg_ledger) in warning
    assert "2 runs are kept in" in warning
    assert "think ledger sync" in warning
    synced = think(capsys, monkeypatch, "ledger", "sync", "--json").json
    assert synced["runs_copied"] == 2, synced
    statuses = [row["status"] for row in pg_rows(pg_ledger, "SELECT status FROM runs")]
    assert statuses == ["ok", "ok"]
