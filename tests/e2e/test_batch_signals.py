"""Ctrl-C halfway through ``think batch``, then the same command again: the prompts the first
one finished are not asked again (the loopback server's request log says which were), and
the second prints every line in input order, as one batch."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import (
    MODEL,
    assert_one_error_line,
    on_terminal,
    run_think,
    runs,
    start_think,
    use_server,
)
from tests.fakes.openai_server import FakeOpenAIServer
from think.errors import ExitCode

COUNT = 20


def prompt_of(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    fake_openai.answer = lambda body, index: f"The answer to {prompt_of(body)}."
    return fake_openai


def test_ctrl_c_halfway_then_the_same_command_asks_only_what_was_left(
    server: FakeOpenAIServer, ledger_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps(f"question {n}") + "\n" for n in range(COUNT)), "utf-8")
    argv = ["batch", str(path), "-m", MODEL, "--concurrency", "2"]
    server.delay = 0.2
    proc = start_think(argv)
    try:
        deadline = time.monotonic() + 60
        while len(server.chat_requests) < 6:  # a few answered, two in flight
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the batch never got going"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == ExitCode.INTERRUPTED
    assert_one_error_line(err.decode(), "the same command resumes")
    first_lines = [json.loads(line) for line in out.decode().splitlines()]
    answered = {run["prompt"] for run in runs(ledger_path) if run["status"] == "ok"}
    assert 0 < len(answered) < COUNT
    assert "cancelled" in {run["status"] for run in runs(ledger_path)}  # those in flight
    # What was printed before the interruption is a prefix of the lines, in input order.
    assert [line["id"] for line in first_lines] == [str(n) for n in range(1, len(first_lines) + 1)]
    asked_first = len(server.chat_requests)

    server.delay = 0
    again = run_think(argv)
    assert again.code == ExitCode.OK, again.err
    asked_again = [prompt_of(r.body) for r in server.chat_requests[asked_first:]]
    assert not answered & set(asked_again)  # the finished prompts were not asked again
    assert len(asked_again) == COUNT - len(answered)
    lines = [json.loads(line) for line in again.out.splitlines()]
    assert [line["id"] for line in lines] == [str(n) for n in range(1, COUNT + 1)]
    assert [line["answer"] for line in lines] == [
        f"The answer to question {n}." for n in range(COUNT)
    ]
    assert {line["status"] for line in lines} == {"ok"}
    assert len({line["batch_id"] for line in lines}) == 1
    assert "resuming:" in again.err


def test_on_a_terminal_a_progress_bar_and_one_summary_line(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """stderr a terminal: the bar (done of total, running cost) while it runs, then the
    summary; stdout (a pipe) gets only the lines."""
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps(f"question {n}") + "\n" for n in range(10)), "utf-8")
    code, piped, shown = on_terminal(["batch", str(path), "-m", MODEL], {})
    assert code == ExitCode.OK, shown
    assert len(piped.splitlines()) == 10
    assert "10/10" in shown
    assert "spent $" in shown
    batch_id = json.loads(piped.splitlines()[0])["batch_id"]
    assert f"batch {batch_id}: 10 ok, 0 failed · $" in shown
    assert "Traceback" not in shown
