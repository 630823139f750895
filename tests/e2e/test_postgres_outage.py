"""The team's PostgreSQL server stopped while a ``think`` process waits for its answer, and
started again: the process prints the answer and exits 0 with one warning line; after
``think ledger sync`` (twice) the run and its calls are in the database exactly once."""

from __future__ import annotations

import pytest

from tests.cli_support import MODEL, run_think, start_think, use_server
from tests.fakes.behaviours import DEFAULT_ANSWER
from tests.fakes.openai_server import FakeOpenAIServer
from tests.postgres_support import PG_PASSWORD, PgServer, pg_rows, stopped_during_a_call
from think.errors import ExitCode
from think.ledger.location import server


def test_a_process_that_lost_its_ledger_mid_run_is_delivered_once_by_sync(
    fake_openai: FakeOpenAIServer,
    pg_server: PgServer,
    pg_ledger: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_server(monkeypatch, fake_openai)
    monkeypatch.setenv("THINK_DAILY_BUDGET", "5")
    monkeypatch.setenv("THINK_USER", "carol")
    monkeypatch.setenv("THINK_BUDGET_TIMEZONE", "UTC")
    with stopped_during_a_call(pg_server, fake_openai):
        proc = start_think(["-m", MODEL, "what is 2+2?"])
        out, err = proc.communicate(timeout=120)
    text = err.decode()
    assert proc.returncode == ExitCode.OK, text
    assert DEFAULT_ANSWER in out.decode()
    (warning,) = text.splitlines()
    assert server(pg_ledger) in warning
    assert "think ledger sync" in warning
    assert PG_PASSWORD not in text

    for _ in range(2):
        synced = run_think(["ledger", "sync"])
        assert synced.code == ExitCode.OK, synced.err
        assert PG_PASSWORD not in synced.out + synced.err
    (run,) = pg_rows(pg_ledger, "SELECT * FROM runs")
    assert run["status"] == "ok"
    assert run["reserved_usd"] is None
    assert (run["username"], run["budget_timezone"]) == ("carol", "UTC")  # the spool's copy too
    calls = pg_rows(pg_ledger, "SELECT * FROM calls")
    assert [(c["run_id"], c["status"]) for c in calls] == [(run["id"], "ok")]
