"""The ledger under stress: concurrent ``think`` processes, --no-log, and a ledger that is
locked, read-only or corrupt (the answer still reaches stdout; commands fail in one line)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_support import (
    API_KEY,
    MODEL,
    assert_one_error_line,
    calls,
    run_cli,
    runs,
    start_think,
    use_server,
)
from tests.fakes.openai_server import FakeOpenAIServer, Status, openai_error
from tests.ledger_support import assert_within_the_cap, runs_under_a_daily_cap
from think.errors import ExitCode

SECRET_PROMPT = "my bank password is hunter2-xyzzy"
SECRET_REASONING = "thinking about hunter2-plugh very carefully"


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


def test_eight_processes_at_once_lose_no_row(server: FakeOpenAIServer, ledger_path: Path) -> None:
    server.delay = 0.05  # overlap the runs' writes
    procs = [start_think(["-m", MODEL, "-s", "vote", "-n", "3", f"question {i}"]) for i in range(8)]
    outcomes = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 8, [err for _, err in outcomes]
    recorded = runs(ledger_path)
    assert len(recorded) == 8
    assert len({run["id"] for run in recorded}) == 8
    assert sorted(run["prompt"] for run in recorded) == [f"question {i}" for i in range(8)]
    assert all(run["status"] == "ok" for run in recorded)
    all_calls = calls(ledger_path)
    assert len({call["id"] for call in all_calls}) == len(all_calls)
    for run in recorded:
        mine = [call for call in all_calls if call["run_id"] == run["id"]]
        assert len(mine) == run["calls"] >= 1
    assert sum(len(c["text"] or "") > 0 for c in all_calls) == len(all_calls)


def test_eight_processes_under_a_daily_cap(
    server: FakeOpenAIServer, ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.delay = 0.2  # runs overlap: 0.1 reserved each, so at most two at a time
    codes = runs_under_a_daily_cap(monkeypatch, 8, "0.25", "0.1")
    assert_within_the_cap(runs(ledger_path), codes, "0.25")


def ledger_bytes(path: Path) -> bytes:
    return b"".join(
        part.read_bytes() for part in (path, path.with_name(path.name + "-wal")) if part.exists()
    )


def test_no_log_records_cost_but_no_content(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.reasoning_field = "reasoning_content"
    server.reasoning = SECRET_REASONING
    result = run_cli(["-m", MODEL, "--no-log", SECRET_PROMPT], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert result.out == "The answer is 4.\n"
    (run,) = runs(ledger_path)
    assert run["no_log"] == 1
    assert (run["prompt"], run["answer"], run["final_answer"]) == (None, None, None)
    assert run["cost_usd"] > 0
    assert run["input_tokens"] > 0
    (call,) = calls(ledger_path, run["id"])
    assert (call["text"], call["reasoning"]) == (None, None)
    assert call["cost_usd"] == pytest.approx(run["cost_usd"])
    data = ledger_bytes(ledger_path)
    assert b"hunter2" not in data
    assert b"The answer is 4" not in data
    monkeypatch.setenv("COLUMNS", "120")
    listing = run_cli(["ledger"], capsys, monkeypatch).out
    assert "(not logged)" in listing
    shown = run_cli(["ledger", "show", run["id"][:6]], capsys, monkeypatch).out
    assert "not recorded: --no-log" in shown
    # The setting does the same from the environment; without it content is recorded.
    monkeypatch.setenv("THINK_NO_LOG", "1")
    assert run_cli(["-m", MODEL, SECRET_PROMPT], capsys, monkeypatch).code == ExitCode.OK
    monkeypatch.delenv("THINK_NO_LOG")
    assert run_cli(["-m", MODEL, "logged"], capsys, monkeypatch).code == ExitCode.OK
    assert [r["prompt"] for r in runs(ledger_path)] == [None, None, "logged"]


def test_keys_echoed_by_a_server_never_reach_the_ledger(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    echo = f"Invalid request. Headers: Authorization: Bearer {API_KEY}; key={API_KEY}"
    server.script(Status(400, openai_error(echo)), Status(401, f"bad key {API_KEY}"))
    for code in (ExitCode.PROVIDER, ExitCode.AUTH):
        result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
        assert result.code == code
        assert API_KEY not in result.err
    recorded = runs(ledger_path)
    assert len(recorded) == 2
    assert all(run["error"] for run in recorded)
    assert API_KEY.encode() not in ledger_bytes(ledger_path)
    assert API_KEY[8:].encode() not in ledger_bytes(ledger_path)


@contextlib.contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Another process in the middle of a long write."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_locked_ledger_answer_still_printed(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_cli(["-m", MODEL, "before"], capsys, monkeypatch).code == ExitCode.OK
    monkeypatch.setenv("THINK_LEDGER_TIMEOUT", "0.2")
    with write_locked(ledger_path):
        result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
        assert result.out == "The answer is 4.\n"
        assert result.code == ExitCode.NOT_RECORDED
        assert_one_error_line(result.err, "kept it locked for more than 0.2 s")
        # Readers are not blocked by a writer (WAL); writers get a one-line error.
        assert run_cli(["ledger"], capsys, monkeypatch).code == ExitCode.OK
        pruned = run_cli(["ledger", "prune", "--before", "2099-01-01", "-y"], capsys, monkeypatch)
        assert pruned.code == ExitCode.NOT_RECORDED
        assert_one_error_line(pruned.err, "locked")
        monkeypatch.setenv("THINK_DAILY_BUDGET", "1")
        capped = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
        assert capped.code == ExitCode.NOT_RECORDED
        assert capped.out == ""  # caps cannot be checked: nothing is spent
        assert_one_error_line(capped.err, "locked")
    assert len(server.chat_requests) == 2
    assert [r["prompt"] for r in runs(ledger_path)] == ["before"]


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """Make ``directory`` and its files read-only, for root too (the immutable attribute)."""
    files = [directory, *directory.iterdir()]
    if os.geteuid() != 0:
        for path in files:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            for path in files:
                path.chmod(0o755 if path.is_dir() else 0o600)
        return
    try:
        subprocess.run(["chattr", "+i", *map(str, files)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("cannot make files read-only here (chattr +i refused)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], check=False)


def test_read_only_ledger(
    server: FakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "ledger.db"
    monkeypatch.setenv("THINK_LEDGER", str(path))
    assert run_cli(["-m", MODEL, "first"], capsys, monkeypatch).code == ExitCode.OK
    with read_only(folder):
        result = run_cli(["-m", MODEL, "second"], capsys, monkeypatch)
        assert result.out == "The answer is 4.\n"
        assert result.code == ExitCode.NOT_RECORDED
        assert_one_error_line(result.err, "not recorded")
        for argv in (["ledger"], ["ledger", "stats"], ["ledger", "prune", "--before", "1d", "-y"]):
            listed = run_cli(argv, capsys, monkeypatch)
            assert listed.code == ExitCode.NOT_RECORDED, argv
            assert_one_error_line(listed.err, "ledger")
    assert [r["prompt"] for r in runs(path)] == ["first"]


def test_corrupt_ledger_commands_fail_in_one_line(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger_path.write_bytes(b"SQLite format 3\x00" + b"\x07" * 8000)
    for argv in (
        ["ledger"],
        ["ledger", "stats"],
        ["ledger", "show", "ab"],
        ["ledger", "export"],
        ["ledger", "backup", str(ledger_path.with_name("b.db"))],
    ):
        result = run_cli(argv, capsys, monkeypatch)
        assert result.code == ExitCode.NOT_RECORDED, argv
        assert result.out == ""
        assert_one_error_line(result.err, "corrupt")
