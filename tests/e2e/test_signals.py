"""Every way a process ends is a recorded ending: Ctrl-C, SIGTERM and SIGHUP cancel the run
with its partial calls recorded; a process killed without a word (SIGKILL) is settled by the
next run, its in-flight call counted at its worst case.

Each test runs ``.venv/bin/think`` against the loopback OpenAI server with the isolated
environment from ``conftest.py`` (its own ledger and config file, no real keys).
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli_support import (
    MODEL,
    assert_one_error_line,
    calls,
    read_all,
    run_think,
    runs,
    start_think,
    use_server,
)
from tests.fakes.openai_server import FakeOpenAIServer, Generate, Stall
from tests.paths import require_think_bin
from think.errors import ExitCode

PROMPT = "what is two plus two"


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


# ----------------------------------------------------------------------------------------
# Ctrl-C, SIGTERM, SIGHUP


def _wait_for_request(server: FakeOpenAIServer, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not server.chat_requests:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the request never arrived"
        time.sleep(0.02)


def test_sigint_while_waiting_for_the_provider(server: FakeOpenAIServer, ledger_path: Path) -> None:
    server.delay = 5
    proc = start_think(["-m", MODEL, "slow question"])
    try:
        _wait_for_request(server, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == ExitCode.INTERRUPTED
    assert out == b""
    assert_one_error_line(err.decode(), "interrupted")
    (run,) = runs(ledger_path)
    assert run["status"] == "cancelled"
    assert run["exit_code"] == ExitCode.INTERRUPTED
    assert run["finished_at"] is not None
    (call,) = calls(ledger_path, run["id"])
    assert call["status"] == "cancelled"
    assert call["usage_source"] == "unknown"


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_a_signal_mid_stream_cancels_the_run_and_keeps_the_partial_text(
    signum: signal.Signals, code: int, server: FakeOpenAIServer, ledger_path: Path
) -> None:
    """Ctrl-C, SIGTERM (timeout, CI, docker stop) and SIGHUP end the run alike: recorded as
    cancelled with what it streamed and paid for, the cursor shown again on the terminal."""
    server.script(Stall(5, after_events=3))  # role chunk, "The", " answer", then nothing
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [str(require_think_bin()), "-m", MODEL, "slow answer"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=dict(os.environ, COLUMNS="100"),
    )
    os.close(terminal)
    shown = b""
    try:
        assert proc.stdout is not None
        received = b""
        deadline = time.monotonic() + 30
        while b"answer" not in received:
            assert time.monotonic() < deadline, received
            ready, _, _ = select.select([proc.stdout, controller], [], [], 1)
            if controller in ready:
                shown += os.read(controller, 65536)
            if proc.stdout in ready:
                chunk = os.read(proc.stdout.fileno(), 1024)
                assert chunk, "stdout closed early"
                received += chunk
        proc.send_signal(signum)
        out, _ = proc.communicate(timeout=30)
        shown += read_all(controller)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(controller)
    assert proc.returncode == code
    assert (received + out).startswith(b"The answer")
    assert b"Traceback" not in shown
    assert shown.rstrip(b"\r\n").endswith(b"the partial run is in the ledger")
    assert b"\x1b[?25h" in shown.rsplit(b"think: error:", 1)[0]  # the cursor is back
    (run,) = runs(ledger_path)
    assert run["status"] == "cancelled"
    assert run["exit_code"] == code
    (call,) = calls(ledger_path, run["id"])
    assert call["status"] == "cancelled"
    assert call["text"] == "The answer"
    assert call["ttft_ms"] is not None
    assert call["cost_usd"] is not None
    assert Decimal(str(call["cost_usd"])) > 0  # the streamed tokens are paid for
    assert Decimal(str(run["cost_usd"])) == Decimal(str(call["cost_usd"]))


def test_a_killed_run_is_abandoned_with_its_spend_when_the_next_run_starts(
    server: FakeOpenAIServer, ledger_path: Path
) -> None:
    """SIGKILL leaves the run's row ``running``; the next run marks it ``abandoned``, and
    the calls it paid for still count in its cost."""
    cheap = Generate(answer=lambda body, index: f"The answer is {4 + index}.")  # they differ
    server.script(cheap, Stall(60))  # the escalation never answers
    cascade = ["--cheap", MODEL, "--strong", "openai:o4-mini", PROMPT]
    proc = start_think(cascade)
    try:
        deadline = time.monotonic() + 30
        while len(server.chat_requests) < 2:  # the cheap call is done, the strong one sent
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the escalation never started"
            time.sleep(0.02)
        proc.kill()
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (killed,) = runs(ledger_path)
    assert killed["status"] == "running"
    paid = sum(call["cost_usd"] for call in calls(ledger_path, killed["id"]))
    assert paid > 0

    assert run_think(["-m", MODEL, PROMPT]).code == ExitCode.OK
    rows = {row["id"]: row for row in runs(ledger_path)}
    assert rows[killed["id"]]["status"] == "abandoned"
    assert rows[killed["id"]]["cost_usd"] == pytest.approx(paid)
    assert "process ended" in rows[killed["id"]]["error"]
    listed = run_think(["ledger", "--status", "abandoned", "--json"])
    assert [json.loads(line)["id"] for line in listed.out.splitlines()] == [killed["id"]]


def test_a_call_in_flight_when_its_process_is_killed_counts_at_its_worst_case(
    server: FakeOpenAIServer, ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a daily cap, a run killed mid-call (SIGKILL: no word) keeps its call's
    reservation as spent: the kill cannot open the cap. Settled, its ``calls`` counts it."""
    cap = Decimal("0.01")
    monkeypatch.setenv("THINK_DAILY_BUDGET", str(cap))
    server.script(Stall(60))
    proc = start_think(["-m", MODEL, PROMPT])
    try:
        _wait_for_request(server, proc)
        proc.kill()
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (killed,) = runs(ledger_path)
    (in_flight,) = calls(ledger_path, killed["id"])
    assert in_flight["status"] == "running"
    worst = Decimal(str(in_flight["cost_usd"]))
    assert worst > 0  # its reservation: 5 tokens in, up to 1024 out

    # What is left is the cap less the killed call's worst case: more is refused.
    refused = run_think(["-m", MODEL, "--max-cost", str(cap - worst / 2), PROMPT])
    assert refused.code == ExitCode.SPENDING_CAP, refused.err
    assert_one_error_line(refused.err, "daily budget $0.01")
    assert run_think(["-m", MODEL, "--max-cost", str(cap - worst), PROMPT]).code == ExitCode.OK

    settled = next(row for row in runs(ledger_path) if row["id"] == killed["id"])
    assert settled["status"] == "abandoned"
    assert settled["calls"] == 1 == len(calls(ledger_path, killed["id"]))
    assert Decimal(str(settled["cost_usd"])) == worst
    (call,) = calls(ledger_path, killed["id"])
    assert call["status"] == "abandoned"
    assert "worst case" in call["error"]


def test_the_escalated_answer_streams_into_a_pipe_as_it_arrives(
    server: FakeOpenAIServer, ledger_path: Path
) -> None:
    """``think … | ts``: the strong model's answer reaches the pipe while it is written,
    not when the run ends (the cheap samples, which may be rejected, never do)."""
    first, second = Generate(answer="The answer is 4."), Generate(answer="The answer is 5.")
    server.script(first, second, Stall(60, after_events=3))  # strong: "The", " answer", …
    proc = start_think(["--cheap", MODEL, "--strong", "openai:o4-mini", PROMPT])
    try:
        assert proc.stdout is not None
        received = b""
        deadline = time.monotonic() + 30
        while b"answer" not in received:
            assert time.monotonic() < deadline, received
            ready, _, _ = select.select([proc.stdout], [], [], 1)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 1024)
                assert chunk, "stdout closed early"
                received += chunk
        assert proc.poll() is None  # the strong call is still streaming
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert received == b"The answer"
    (run,) = runs(ledger_path)
    assert [c["stage"] for c in calls(ledger_path, run["id"])][-1] == "escalate"
