"""Many ``think`` processes on one PostgreSQL ledger at once, as a team's machines would be:
the first use migrates exactly once, and a daily cap holds across all of them."""

from __future__ import annotations

import pytest

from tests.cli_support import start_think, use_server
from tests.fakes.openai_server import FakeOpenAIServer
from tests.ledger_support import assert_within_the_cap, runs_under_a_daily_cap
from tests.postgres_support import pg_rows
from think.errors import ExitCode
from think.ledger.schema import SCHEMA_VERSION


def test_four_processes_first_using_an_empty_database_migrate_it_once(pg_ledger: str) -> None:
    procs = [start_think(["ledger", "stats", "--json"]) for _ in range(4)]
    outcomes = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, [err for _, err in outcomes]
    assert pg_rows(pg_ledger, "SELECT version FROM schema_version") == [{"version": SCHEMA_VERSION}]


def test_sixteen_processes_under_one_daily_cap_never_pass_it(
    fake_openai: FakeOpenAIServer, pg_ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_server(monkeypatch, fake_openai)
    fake_openai.delay = 0.2  # runs overlap: 0.1 reserved each, so at most three at a time
    codes = runs_under_a_daily_cap(monkeypatch, 16, "0.35", "0.1")
    assert codes.count(ExitCode.SPENDING_CAP) >= 1
    recorded = pg_rows(pg_ledger, "SELECT * FROM runs ORDER BY started_at")
    assert_within_the_cap(recorded, codes, "0.35")
    for run in recorded:  # every allowed run is recorded with all its calls
        calls = pg_rows(pg_ledger, "SELECT status FROM calls WHERE run_id = %s", (run["id"],))
        assert len(calls) == run["calls"] >= 1
        assert {call["status"] for call in calls} == {"ok"}
