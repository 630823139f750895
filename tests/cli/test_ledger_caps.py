"""Spending caps across runs: reservations in the ledger, their settlement and expiry, the
refusal before anything is spent, and concurrency (a hypothesis property over threads)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli_support import MODEL, assert_one_error_line, run_cli, runs, use_server
from tests.fakes.openai_server import FakeOpenAIServer
from tests.ledger_support import finished_run, make_call, make_run, record
from think.errors import ExitCode, SpendingCapReached
from think.ledger.abandoned import ABANDONED, this_host
from think.ledger.caps import Caps, reserve_run
from think.ledger.lease import LEASE, LeaseKeeper
from think.ledger.rows import run_row
from think.ledger.store import Ledger
from think.periods import day_start, iso
from think.pricing import Cost

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
TODAY = iso(day_start(NOW) + timedelta(hours=1))
EARLIER_THIS_MONTH = iso(NOW - timedelta(days=5))
DAILY = Caps(daily=Decimal("1.00"))


def spend(ledger: Ledger, run_id: str, started_at: str, usd: str) -> None:
    run = finished_run(run_id, started_at, usd)
    record(
        ledger,
        run,
        make_call(run_id, 1, started_at=started_at, cost=Cost(Decimal(usd), "computed")),
    )


def reserve(
    ledger: Ledger,
    run_id: str,
    max_cost: str | None,
    caps: Caps = DAILY,
    now: datetime = NOW,
) -> Decimal | None:
    asked = None if max_cost is None else Decimal(max_cost)
    run = make_run(run_id, started_at=iso(now), max_cost_usd=asked)
    return reserve_run(ledger, run, caps, now=now).max_cost_usd


def row(ledger: Ledger, run_id: str) -> dict[str, object]:
    found = ledger.one("select * from runs where id = ?", [run_id])
    assert found is not None
    return found


@pytest.fixture
def ledger(engine_ledger: Ledger) -> Ledger:
    """Each test on a SQLite file and on a PostgreSQL database."""
    return engine_ledger


def test_a_run_that_fits_reserves_its_max_cost(ledger: Ledger) -> None:
    spend(ledger, "a", TODAY, "0.30")
    spend(ledger, "old", iso(NOW - timedelta(days=1)), "5.00")  # yesterday: not today's
    assert reserve(ledger, "b", "0.50") == Decimal("0.50")
    reserved = row(ledger, "b")
    assert reserved["status"] == "running"
    assert reserved["reserved_usd"] == 0.5
    assert reserved["max_cost_usd"] == 0.5
    assert reserved["reserved_host"] == this_host()
    with pytest.raises(SpendingCapReached) as refused:
        reserve(ledger, "c", "0.25")
    message = str(refused.value)
    assert message == (
        "daily budget $1.00: $0.30 spent today, $0.50 held by running runs, $0.20 left; "
        "this run could cost up to $0.25 (--max-cost): lower --max-cost to at most $0.20"
    )
    assert ledger.one("select id from runs where id = 'c'") is None  # nothing recorded
    assert reserve(ledger, "d", "0.20") == Decimal("0.20")  # exactly what is left fits


def test_without_max_cost_the_run_gets_what_is_left(ledger: Ledger) -> None:
    spend(ledger, "a", TODAY, "0.25")
    assert reserve(ledger, "b", None) == Decimal("0.75")
    with pytest.raises(SpendingCapReached, match="nothing can be spent until it resets"):
        reserve(ledger, "c", None)


def test_the_tightest_cap_decides(ledger: Ledger) -> None:
    caps = Caps(daily=Decimal("1.00"), monthly=Decimal("3.00"))
    spend(ledger, "a", EARLIER_THIS_MONTH, "2.60")
    spend(ledger, "b", iso(NOW - timedelta(days=40)), "100")  # last month
    assert reserve(ledger, "c", None, caps) == Decimal("0.40")
    with pytest.raises(SpendingCapReached, match=r"monthly budget \$3.00: \$2.60 spent this"):
        reserve(ledger, "d", "0.01", caps)


def test_budget_timezone_decides_where_the_day_begins(ledger: Ledger) -> None:
    # 05:00 UTC is today in UTC, and yesterday where it is now midnight (UTC-12)
    spend(ledger, "early", "2026-03-15T05:00:00.000Z", "0.60")
    west = Caps(daily=Decimal("1.00"), timezone="Etc/GMT+12")
    assert reserve(ledger, "a", None, west) == Decimal("1.00")
    ledger.record_run(finished_run("a", iso(NOW), "0"))
    utc = Caps(daily=Decimal("1.00"), timezone="UTC")
    with pytest.raises(SpendingCapReached, match=r"\$0.60 spent today \(UTC\)"):
        reserve(ledger, "b", "0.50", utc)
    assert reserve(ledger, "c", None, utc) == Decimal("0.40")


def test_an_unknown_budget_timezone_is_a_config_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THINK_BUDGET_TIMEZONE", "Mars/Olympus")
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "budget_timezone")


def test_settling_replaces_the_reservation_by_the_actual_cost(ledger: Ledger) -> None:
    assert reserve(ledger, "a", "0.80") == Decimal("0.80")
    run = finished_run("a", iso(NOW), "0.05", max_cost_usd=Decimal("0.80"))
    ledger.record_call(make_call("a", 1, cost=Cost(Decimal("0.05"), "computed")))
    ledger.record_run(run)
    settled = row(ledger, "a")
    assert settled["reserved_usd"] is None
    assert settled["cost_usd"] == pytest.approx(0.05)
    assert reserve(ledger, "b", None) == Decimal("0.95")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def hold(ledger: Ledger, run_id: str, usd: str, *, pid: int, host: str, at: datetime) -> None:
    """Another process's run holding ``usd`` since ``at`` (written as that process left it:
    not through ``record_run``, whose start would judge the other runs by today's clock)."""
    with ledger.immediate() as conn:
        ledger.upsert(
            conn, "runs", run_row(make_run(run_id, started_at=iso(NOW - timedelta(minutes=1))))
        )
    ledger.record_call(make_call(run_id, 1, cost=Cost(Decimal("0.10"), "computed")))
    ledger.conn.execute(
        "update runs set reserved_usd = ?, reserved_at = ?, reserved_pid = ?, reserved_host = ?"
        " where id = ?",
        [float(usd), iso(at), pid, host, run_id],
    )


def test_a_crashed_runs_reservation_expires(ledger: Ledger) -> None:
    hold(ledger, "crashed", "0.90", pid=dead_pid(), host=this_host(), at=NOW)
    assert reserve(ledger, "next", None) == Decimal("0.90")  # only its recorded call counts
    crashed = row(ledger, "crashed")
    assert crashed["status"] == ABANDONED
    assert crashed["reserved_usd"] is None
    assert crashed["cost_usd"] == pytest.approx(0.10)
    assert "reservation expired" in str(crashed["error"])


def test_reservations_of_live_processes_and_other_hosts(ledger: Ledger) -> None:
    import os

    hold(ledger, "alive", "0.30", pid=os.getpid(), host=this_host(), at=NOW - timedelta(hours=5))
    hold(ledger, "remote", "0.30", pid=1, host="elsewhere", at=NOW - LEASE + timedelta(seconds=1))
    hold(ledger, "gone", "0.30", pid=1, host="elsewhere", at=NOW - LEASE - timedelta(seconds=1))
    assert reserve(ledger, "next", None) == Decimal("0.30")  # 1.00 - 0.30 - 0.30 - 0.10
    assert row(ledger, "alive")["reserved_usd"] == 0.3
    assert row(ledger, "remote")["reserved_usd"] == 0.3
    assert row(ledger, "gone")["status"] == ABANDONED


def test_a_run_on_another_host_that_renews_its_lease_keeps_its_reservation(
    ledger: Ledger,
) -> None:
    hold(ledger, "working", "0.50", pid=1, host="elsewhere", at=NOW - 2 * LEASE)
    ledger.renew_lease("working")  # as its host's LeaseKeeper does while a long call runs
    reserve(ledger, "next", "0.10", now=datetime.now(UTC))  # settles the runs it can
    assert row(ledger, "working")["status"] == "running"
    assert row(ledger, "working")["reserved_usd"] == 0.5


def test_a_lease_keeper_renews_until_stopped(ledger: Ledger) -> None:
    hold(ledger, "mine", "0.50", pid=1, host="elsewhere", at=NOW - 2 * LEASE)
    keeper = LeaseKeeper(ledger.location, ledger.timeout, "mine", every=0.01).start()
    for _ in range(2000):  # until it has renewed twice (bounded: never a hang)
        if keeper.renewals >= 2:
            break
        threading.Event().wait(0.01)
    keeper.stop()
    assert keeper.renewals >= 2
    assert not keeper._thread.is_alive()
    assert str(row(ledger, "mine")["reserved_at"]) > iso(NOW)


def test_a_day_old_reservation_expires_even_if_its_pid_lives(ledger: Ledger) -> None:
    import os

    hold(ledger, "old", "0.50", pid=os.getpid(), host=this_host(), at=NOW - timedelta(hours=25))
    assert reserve(ledger, "next", None) == Decimal("0.90")


# ----------------------------------------------------------------------------------------
# Concurrency: separate connections to one file, as separate processes would have


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    cap=st.decimals(min_value="0.05", max_value="2", places=2),
    runs_=st.lists(
        st.tuples(
            st.one_of(st.none(), st.decimals(min_value="0.01", max_value="1", places=2)),
            st.floats(min_value=0, max_value=1),
        ),
        min_size=2,
        max_size=12,
    ),
)
def test_concurrent_runs_never_spend_past_the_daily_cap(
    tmp_path_factory: pytest.TempPathFactory,
    cap: Decimal,
    runs_: list[tuple[Decimal | None, float]],
) -> None:
    path = tmp_path_factory.mktemp("caps") / "ledger.db"
    Ledger(path).close()
    caps = Caps(daily=cap)
    start = threading.Barrier(len(runs_))
    errors: list[BaseException] = []

    def one_run(index: int, asked: Decimal | None, used: float) -> None:
        ledger = Ledger(path)
        try:
            start.wait()
            run = make_run(f"run{index}", started_at=iso(datetime.now(UTC)), max_cost_usd=asked)
            try:
                run = reserve_run(ledger, run, caps)
            except SpendingCapReached:
                return
            assert run.max_cost_usd is not None
            # The budget governor keeps a run within its max cost: spend some share of it.
            cost = (run.max_cost_usd * Decimal(str(used))).quantize(Decimal("1e-9"))
            call = make_call(run.id, 1, cost=Cost(cost, "computed"))
            ledger.record_call(call)
            ledger.record_run(dataclasses.replace(run, status="ok", cost=call.cost))
        except BaseException as exc:
            errors.append(exc)
        finally:
            ledger.close()

    threads = [
        threading.Thread(target=one_run, args=(i, asked, used))
        for i, (asked, used) in enumerate(runs_)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    recorded = runs(path)
    total = sum(Decimal(repr(r["cost_usd"])) for r in recorded)
    assert total <= cap
    assert all(r["reserved_usd"] is None for r in recorded)
    assert all(r["status"] == "ok" for r in recorded)


def test_sixteen_connections_reserving_at_once_hold_the_cap(ledger: Ledger) -> None:
    """Each reservation's sum and row are one step no other connection's can interleave
    with (PostgreSQL: the caps' advisory lock), however the reservations race."""
    start = threading.Barrier(16)
    granted: list[Decimal | None] = []
    errors: list[BaseException] = []

    def one(index: int) -> None:
        mine = Ledger(ledger.location)
        try:
            start.wait()
            granted.append(reserve(mine, f"run{index}", "0.10"))
        except SpendingCapReached:
            pass
        except BaseException as exc:
            errors.append(exc)
        finally:
            mine.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(granted) == 10  # $1.00 / $0.10: exactly ten fit, never an eleventh
    held = ledger.one("SELECT sum(reserved_usd) AS held FROM runs")
    assert held is not None
    assert Decimal(repr(held["held"])) <= Decimal("1.00")


# ----------------------------------------------------------------------------------------
# Through the CLI


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


def test_cli_refuses_a_run_past_the_cap_before_spending(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("THINK_DAILY_BUDGET", "0.10")
    ok = run_cli(["-m", MODEL, "--json", "--max-cost", "0.05", "hi"], capsys, monkeypatch)
    assert ok.code == ExitCode.OK, ok.err
    refused = run_cli(["-m", MODEL, "--max-cost", "0.5", "hi"], capsys, monkeypatch)
    assert refused.code == ExitCode.SPENDING_CAP
    assert refused.out == ""
    assert_one_error_line(refused.err, "daily budget $0.10")
    assert "lower --max-cost to at most $0.10" in refused.err  # the first run cost ~$0.00001
    assert len(server.chat_requests) == 1
    assert len(runs(ledger_path)) == 1


def test_cli_without_max_cost_gets_the_remaining_allowance(
    server: FakeOpenAIServer,
    ledger_path: Path,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path.write_text("daily_budget = 0.25\nmonthly_budget = 10\n", encoding="utf-8")
    result = run_cli(["-m", MODEL, "--json", "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    assert result.json["max_cost_usd"] == pytest.approx(0.25)
    (run,) = runs(ledger_path)
    assert run["max_cost_usd"] == pytest.approx(0.25)
    assert run["reserved_usd"] is None
    assert run["reserved_pid"] is not None
    assert 0 < run["cost_usd"] < 0.001


def test_cli_exhausted_cap(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger = Ledger(ledger_path)
    spend(ledger, "earlier", iso(datetime.now(UTC)), "0.50")
    ledger.close()
    monkeypatch.setenv("THINK_DAILY_BUDGET", "0.5")
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.SPENDING_CAP
    assert_one_error_line(result.err, "$0.00 left; nothing can be spent until it resets")
    assert server.chat_requests == []


def test_cli_caps_with_a_broken_ledger_refuse_to_spend(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger_path.write_bytes(b"not a database" * 300)
    monkeypatch.setenv("THINK_DAILY_BUDGET", "1")
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.NOT_RECORDED
    assert result.out == ""
    assert_one_error_line(result.err, "cannot check the spending caps")
    assert server.chat_requests == []
