"""Many ``think`` processes on one PostgreSQL ledger at once, as a team's machines would be:
the first use migrates exactly once, a daily cap holds across all of them (16 processes
standing for 4 hosts), and a run killed on one host frees its allowance after its lease."""

from __future__ import annotations

import os
import time
from decimal import Decimal

import psycopg
import pytest

from tests.cli_support import MODEL, run_think, start_think, use_server
from tests.fakes.behaviours import Generate
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
    codes = runs_under_a_daily_cap(monkeypatch, 16, "0.35", "0.1", hosts=4)
    assert codes.count(ExitCode.SPENDING_CAP) >= 1
    recorded = pg_rows(pg_ledger, "SELECT * FROM runs ORDER BY started_at")
    assert_within_the_cap(recorded, codes, "0.35")
    assert {run["reserved_host"] for run in recorded} <= {f"host-{i}" for i in range(4)}
    for run in recorded:  # every allowed run is recorded with all its calls
        calls = pg_rows(pg_ledger, "SELECT status FROM calls WHERE run_id = %s", (run["id"],))
        assert len(calls) == run["calls"] >= 1
        assert {call["status"] for call in calls} == {"ok"}


def test_a_run_killed_on_one_host_frees_its_allowance_after_its_lease(
    fake_openai: FakeOpenAIServer, pg_ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kill -9`` of a run on host-a while its escalation is in flight: its reservation
    holds (a run on host-b is refused, exit 7) until its lease runs out (aged here, not
    waited for); then host-b's next run settles it ``abandoned``, its recorded calls counted,
    and uses the freed allowance."""
    from datetime import UTC, datetime

    from think.ledger.abandoned import LEASE
    from think.periods import iso

    use_server(monkeypatch, fake_openai)
    monkeypatch.setenv("THINK_DAILY_BUDGET", "0.15")
    fake_openai.script(
        Generate(answer="The answer is 4."),
        Generate(answer="The answer is 5."),  # disagree: escalate
        Generate(delay=120),  # the escalation: still in flight when the process dies
    )
    argv = ["--cheap", MODEL, "--strong", "openai:gpt-4o", "--max-cost", "0.1", "2+2?"]
    killed = start_think(argv, {"THINK_HOST": "host-a"})
    deadline = time.monotonic() + 60
    while len(fake_openai.chat_requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake_openai.chat_requests) == 3, killed.stderr
    killed.kill()  # SIGKILL: no goodbye, the reservation left behind
    killed.communicate(timeout=30)
    (held,) = pg_rows(pg_ledger, "SELECT * FROM runs")
    assert (held["status"], held["reserved_host"]) == ("running", "host-a")
    cheap = pg_rows(pg_ledger, "SELECT * FROM calls WHERE status = 'ok'")
    assert len(cheap) == 2

    other = ["-m", MODEL, "--max-cost", "0.1", "3+3?"]
    refused = run_think(other, env={**os.environ, "THINK_HOST": "host-b"})
    assert refused.code == ExitCode.SPENDING_CAP, refused.err

    lapsed = iso(datetime.now(UTC) - LEASE - LEASE / 3)
    with psycopg.connect(pg_ledger, autocommit=True) as conn:
        conn.execute("UPDATE runs SET reserved_at = %s WHERE id = %s", (lapsed, held["id"]))
    allowed = run_think(other, env={**os.environ, "THINK_HOST": "host-b"})
    assert allowed.code == ExitCode.OK, allowed.err

    runs = {run["reserved_host"]: run for run in pg_rows(pg_ledger, "SELECT * FROM runs")}
    dead, alive = runs["host-a"], runs["host-b"]
    assert dead["status"] == "abandoned"
    assert dead["reserved_usd"] is None
    counted = sum(Decimal(repr(call["cost_usd"])) for call in cheap)
    assert Decimal(repr(dead["cost_usd"])) >= counted > 0  # its calls count
    assert alive["status"] == "ok"
    total = Decimal(repr(dead["cost_usd"])) + Decimal(repr(alive["cost_usd"]))
    assert total <= Decimal("0.15")
