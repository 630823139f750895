"""The installed console script as a subprocess: in pipes, with signals, and what it records.

Each test runs ``.venv/bin/think`` against the loopback OpenAI server with the isolated
environment from ``conftest.py`` (its own ledger and config file, no real keys).
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
from pathlib import Path

import pytest

from tests.cli_support import (
    API_KEY,
    ASK_PANELS,
    MODEL,
    assert_one_error_line,
    calls,
    help_sections,
    run_think,
    runs,
    use_server,
)
from tests.fakes.openai_server import FakeOpenAIServer, invalid_api_key
from tests.paths import require_think_bin
from think.errors import ExitCode
from think.pricing import lookup_price
from think.usage import Usage

COLOR_SGR = re.compile(r"\x1b\[[0-9;]*(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")
"""An SGR sequence that sets a colour (30-49, 90-107, incl. 38;5/38;2 forms)."""

PROMPT = "what is two plus two"


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


def gpt_4o_mini_cost(input_tokens: int, output_tokens: int) -> float:
    price = lookup_price("openai", "gpt-4o-mini", price_provider="openai", overrides={})
    assert price is not None
    return float(price.cost(Usage(input_tokens=input_tokens, output_tokens=output_tokens)))


def test_stdout_holds_exactly_the_answer(server: FakeOpenAIServer, ledger_path: Path) -> None:
    result = run_think(["-m", MODEL, PROMPT])
    assert result.code == ExitCode.OK
    assert result.out == "The answer is 4.\n"
    assert result.err == ""  # stderr is a pipe: no live view, no summary
    assert [r.json["messages"][-1]["content"] for r in server.chat_requests] == [PROMPT]


def test_run_and_call_rows(server: FakeOpenAIServer, ledger_path: Path) -> None:
    result = run_think(["-m", MODEL, PROMPT])
    assert result.code == ExitCode.OK
    (run,) = runs(ledger_path)
    assert run["status"] == "ok"
    assert run["exit_code"] == 0
    assert run["prompt"] == PROMPT
    assert run["answer"] == "The answer is 4."
    assert run["answer_model"] == MODEL
    assert json.loads(run["models"]) == [MODEL]
    assert run["strategy"] == "single"
    assert run["calls"] == 1
    assert run["input_tokens"] == 5  # the fake counts words
    assert run["output_tokens"] == 4
    expected_cost = gpt_4o_mini_cost(5, 4)
    assert run["cost_usd"] > 0
    assert run["cost_usd"] == pytest.approx(expected_cost)
    assert run["cost_source"] == "computed"
    assert run["finished_at"] >= run["started_at"]
    assert run["duration_ms"] >= 0
    assert run["error"] is None

    (call,) = calls(ledger_path, run["id"])
    assert call["seq"] == 1
    assert call["stage"] == "answer"
    assert call["provider"] == "openai"
    assert call["model"] == "gpt-4o-mini"
    assert call["status"] == "ok"
    assert call["input_tokens"] == 5
    assert call["output_tokens"] == 4
    assert call["reasoning_tokens"] == 0
    assert call["cached_tokens"] == 0
    assert call["cost_usd"] == pytest.approx(expected_cost)
    assert call["cost_source"] == "computed"
    assert call["usage_source"] == "reported"
    assert call["latency_ms"] is not None
    assert call["latency_ms"] >= 0
    assert call["ttft_ms"] is not None
    assert 0 <= call["ttft_ms"] <= call["latency_ms"]
    assert call["attempts"] == 1
    assert call["finish_reason"] == "stop"
    assert call["text"] == "The answer is 4."
    assert call["n"] == 1
    assert call["error"] is None


def test_json_is_exactly_one_document(server: FakeOpenAIServer, ledger_path: Path) -> None:
    result = run_think(["-m", MODEL, "--json", PROMPT])
    assert result.code == ExitCode.OK
    assert result.err == ""
    assert result.out.endswith("\n")
    decoder = json.JSONDecoder()
    document, end = decoder.raw_decode(result.out)
    assert result.out[end:] == "\n"
    assert document["answer"] == "The answer is 4."
    assert document["status"] == "ok"
    assert document["models"] == [MODEL]
    assert document["tokens"]["input"] == 5
    assert document["tokens"]["output"] == 4
    assert document["cost_usd"] == pytest.approx(gpt_4o_mini_cost(5, 4))
    (run,) = runs(ledger_path)
    assert document["run_id"] == run["id"]


def test_stdin_pipe_and_argument(server: FakeOpenAIServer, ledger_path: Path) -> None:
    result = run_think(["-m", MODEL, "review", "this"], stdin=b"diff --git a/x b/x\n+new\n")
    assert result.code == ExitCode.OK
    assert result.out == "The answer is 4.\n"
    sent = server.chat_requests[0].json["messages"][-1]["content"]
    assert sent == "diff --git a/x b/x\n+new\n\nreview this"
    (run,) = runs(ledger_path)
    assert run["prompt"] == sent


def test_stdin_only(server: FakeOpenAIServer, config_path: Path) -> None:
    config_path.write_text(f'model = "{MODEL}"\n', encoding="utf-8")
    result = run_think([], stdin=b"just the pipe\n")
    assert result.code == ExitCode.OK
    assert result.out == "The answer is 4.\n"
    assert server.chat_requests[0].json["messages"][-1]["content"] == "just the pipe"


def test_exit_codes_and_error_lines(server: FakeOpenAIServer, ledger_path: Path) -> None:
    result = run_think(["-m", "bogus", "hi"])
    assert result.code == ExitCode.USAGE
    assert result.out == ""
    assert_one_error_line(result.err, "provider:model")

    result = run_think(["-f", str(ledger_path.parent)])
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "directory")

    server.script(invalid_api_key(API_KEY))
    result = run_think(["-m", MODEL, "hi"])
    assert result.code == ExitCode.AUTH
    assert result.out == ""
    assert_one_error_line(result.err, "HTTP 401")

    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    result = run_think(["-m", MODEL, "hi"], env=env)
    assert result.code == ExitCode.AUTH
    assert_one_error_line(result.err, "OPENAI_API_KEY")

    result = run_think(["-m", MODEL, "--max-cost", "0.0000001", "--json", "hi"])
    assert result.code == ExitCode.BUDGET
    assert json.loads(result.out)["status"] == "budget_exhausted"
    assert result.err.startswith("think: budget exhausted:")
    assert "Traceback" not in result.err

    # the 401 run and the budget run; the missing key failed before anything was recorded
    assert [r["status"] for r in runs(ledger_path)] == ["error", "budget_exhausted"]


def test_version_fast_path() -> None:
    from think import __version__

    result = run_think(["--version"])
    assert (result.code, result.out, result.err) == (0, f"think {__version__}\n", "")


@pytest.mark.parametrize("columns", ["80", "120"])
def test_help_of_the_console_script_shows_the_ask_panels(columns: str) -> None:
    result = run_think(["--help"], env=dict(os.environ, COLUMNS=columns))
    assert (result.code, result.err) == (ExitCode.OK, "")
    sections = help_sections(result.out)
    assert [title for title in sections if title in ASK_PANELS] == list(ASK_PANELS)
    assert "--max-cost USD" in sections["Budget"]
    assert "--dry-run" in sections["Budget"]
    assert "--cheap MODEL" in sections["Models"]
    assert "-n, --samples N" in sections["Strategy"]
    assert "--json" in sections["Output"]
    assert "-f, --file FILE" in sections["Input"]
    assert "<int range>" not in result.out
    assert "ledger" in sections["Commands"]


def test_closed_stdout_is_not_an_error(server: FakeOpenAIServer, ledger_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `think ... | head -c0`: nobody reads
    try:
        proc = subprocess.run(
            [str(require_think_bin()), "-m", MODEL, "hi"],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=dict(os.environ),
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == ExitCode.OK
    assert proc.stderr == b""
    # The run went on and is recorded in full.
    (run,) = runs(ledger_path)
    assert run["status"] == "ok"
    assert run["answer"] == "The answer is 4."
    (call,) = calls(ledger_path, run["id"])
    assert call["status"] == "ok"
    assert call["text"] == "The answer is 4."


@pytest.mark.parametrize("argv", [["-m", MODEL, "--json", "hi"], ["ledger", "--json"], ["ledger"]])
def test_closed_stdout_other_commands(
    argv: list[str], server: FakeOpenAIServer, ledger_path: Path
) -> None:
    assert run_think(["-m", MODEL, "seed"]).code == ExitCode.OK
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [str(require_think_bin()), *argv],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=dict(os.environ),
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (ExitCode.OK, b"")


def test_no_color_even_when_colour_is_forced(server: FakeOpenAIServer) -> None:
    env = dict(os.environ, FORCE_COLOR="1", NO_COLOR="1", COLUMNS="200")
    assert run_think(["-m", MODEL, "hi"], env=env).code == ExitCode.OK
    for argv in (["ledger"], ["config", "show"], ["models"], ["-m", MODEL, "hi"]):
        result = run_think(argv, env=env)
        assert result.code == ExitCode.OK
        assert not COLOR_SGR.search(result.out), (argv, result.out)
        assert not COLOR_SGR.search(result.err), (argv, result.err)


# ----------------------------------------------------------------------------------------
# stderr a terminal: the live view goes there, stdout still holds only the answer


def test_live_view_stays_on_a_terminal_stderr(server: FakeOpenAIServer) -> None:
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [str(require_think_bin()), "-m", MODEL, "hi"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            env=dict(os.environ, NO_COLOR="1", COLUMNS="100"),
        )
        os.close(slave)
        slave = -1
        terminal = b""
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            assert ready, "no output on the terminal"
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            terminal += chunk
        out, _ = proc.communicate(timeout=30)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert proc.returncode == ExitCode.OK
    assert out == b"The answer is 4.\n"
    shown = terminal.decode("utf-8", "replace")
    assert "openai:gpt-4o-mini" in shown or "gpt-4o-mini" in shown
    assert not COLOR_SGR.search(shown)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_into_a_pipe_that_closes_early_ends_quietly(fmt: str, ledger_path: Path) -> None:
    from tests.ledger_support import make_call, make_run
    from think.ledger.store import Ledger

    ledger = Ledger(ledger_path)
    try:
        for number in range(400):  # more than a pipe buffer holds
            run_id = f"r{number:04d}"
            ledger.record_run(make_run(run_id, status="ok", prompt="x" * 200))
            ledger.record_call(make_call(run_id))
    finally:
        ledger.close()
    process = subprocess.Popen(
        [str(require_think_bin()), "ledger", "export", "--format", fmt],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()  # `| head -1`
    process.stdout.close()
    code = process.wait(timeout=60)
    err = process.stderr.read().decode()
    process.stderr.close()
    assert first
    assert code in (0, 141), err
    assert err == ""  # no traceback, no "Exception ignored"
