"""The documented exit codes, end to end against the loopback OpenAI server.

Every failure ends with one ``think: error: ...`` line on stderr (never a traceback) and is
recorded in the ledger when a run was started.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.cli_support import (
    API_KEY,
    MODEL,
    assert_one_error_line,
    calls,
    fast_retries,
    run_cli,
    runs,
    use_server,
)
from tests.fakes.openai_server import (
    CutStream,
    ErrorInStream,
    FakeOpenAIServer,
    insufficient_quota,
    invalid_api_key,
    server_error,
)
from think.errors import ExitCode


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    fast_retries(monkeypatch)
    return fake_openai


def test_documented_values() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "INTERNAL": 1,
        "USAGE": 2,
        "PROVIDER": 3,
        "AUTH": 4,
        "BUDGET": 5,
        "NOT_RECORDED": 6,
        "SPENDING_CAP": 7,
        "TARGET_NOT_MET": 8,
        "PENDING": 9,
        "HANGUP": 129,
        "INTERRUPTED": 130,
        "TERMINATED": 143,
    }


def test_ok(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(["-m", MODEL, "2+2?"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert result.out == "The answer is 4.\n"
    assert result.err == ""
    (run,) = runs(ledger_path)
    assert run["status"] == "ok"
    assert run["exit_code"] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--no-such-option", "hi"], "No such option"),
        (["-m", "bogus", "hi"], "provider:model"),
        (["-m", "nope:some-model", "hi"], "unknown provider 'nope'"),
        (["-m", ":model", "hi"], "provider:model"),
        (["--max-cost", "lots", "hi"], "max-cost"),
        (["--max-cost", "-1", "hi"], "max_cost"),
        (["--max-tokens", "0", "hi"], "max_tokens"),
        (["--temperature", "7", "-m", MODEL, "hi"], "temperature"),
        (["--strategy", "bogus", "-m", MODEL, "hi"], "strategy"),
        (["ledger", "-n", "0"], "limit"),
        (["completion", "tcsh"], "bash"),
    ],
)
def test_usage_errors(
    argv: list[str],
    message: str,
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(argv, capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert result.out == ""
    assert_one_error_line(result.err, message)
    assert server.chat_requests == []
    assert not ledger_path.exists() or runs(ledger_path) == []


def test_auth_error_from_server(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.script(invalid_api_key(API_KEY))
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.AUTH
    assert result.out == ""
    assert_one_error_line(result.err, "HTTP 401")
    assert len(server.chat_requests) == 1  # 401 is never retried
    (run,) = runs(ledger_path)
    assert run["status"] == "error"
    assert run["exit_code"] == ExitCode.AUTH
    assert "401" in run["error"]
    (call,) = calls(ledger_path, run["id"])
    assert call["status"] == "error"
    assert call["cost_usd"] == 0


def test_missing_key_is_an_auth_error(
    fake_openai: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing is sent and nothing is recorded: no call, no tokens, no answer model."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    result = run_cli(["--json", "-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.AUTH
    assert result.out == ""
    assert_one_error_line(result.err, "OPENAI_API_KEY")
    assert fake_openai.requests == []
    assert not ledger_path.exists() or runs(ledger_path) == []


@pytest.mark.parametrize("missing", ["cheap", "strong", "judge"])
def test_a_missing_key_for_any_model_of_the_run_fails_before_the_first_call(
    missing: str,
    fake_openai: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cascade whose strong model (or judge) has no key does not draw cheap samples
    first and then "escalate" into the error (it used to record 60 input tokens)."""
    use_server(monkeypatch, fake_openai)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_openai.base_url)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    roles = {"cheap": MODEL, "strong": "openai:gpt-4.1", "judge": MODEL}
    roles[missing] = "anthropic:claude-haiku-4-5"
    args = ["--cheap", roles["cheap"], "--strong", roles["strong"], "--answer-format", "open"]
    args += ["--judge", roles["judge"], "summarise: a b c"]
    result = run_cli(args, capsys, monkeypatch)
    assert result.code == ExitCode.AUTH
    assert_one_error_line(result.err, "ANTHROPIC_API_KEY")
    assert fake_openai.requests == []
    assert not ledger_path.exists() or runs(ledger_path) == []


def test_server_errors_until_retries_run_out(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.script(server_error(), server_error(), server_error())
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.PROVIDER
    assert result.out == ""
    assert_one_error_line(result.err, "HTTP 500")
    assert "gave up after 2 attempts" in result.err
    assert len(server.chat_requests) == 2  # THINK_MAX_RETRIES=1
    (run,) = runs(ledger_path)
    assert run["status"] == "error"
    assert run["exit_code"] == ExitCode.PROVIDER
    assert "HTTP 500" in run["error"]
    (call,) = calls(ledger_path, run["id"])
    assert call["status"] == "error"
    assert call["attempts"] == 2
    assert "HTTP 500" in call["error"]


def test_one_server_error_then_success_is_ok(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.script(server_error(503))
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert result.out == "The answer is 4.\n"
    (call,) = calls(ledger_path)
    assert call["attempts"] == 2
    assert call["status"] == "ok"


def test_non_retryable_quota_error(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server.script(insufficient_quota())
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.PROVIDER
    assert_one_error_line(result.err, "HTTP 429")
    assert len(server.chat_requests) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_retries(monkeypatch)
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{_closed_port()}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.PROVIDER
    assert result.out == ""
    assert_one_error_line(result.err, "cannot connect to http://127.0.0.1:")
    (run,) = runs(ledger_path)
    assert run["status"] == "error"
    assert run["exit_code"] == ExitCode.PROVIDER
    assert "cannot connect" in run["error"]
    (call,) = calls(ledger_path, run["id"])
    assert call["attempts"] == 2


def test_cut_stream(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.answer = "one two three four five six seven eight"
    server.script(CutStream(after_events=4))
    result = run_cli(["-m", MODEL, "count"], capsys, monkeypatch)
    assert result.code == ExitCode.PROVIDER
    # The part that streamed before the cut was already on stdout.
    assert result.out == "one two three\n"
    assert_one_error_line(result.err, "cut off")
    (run,) = runs(ledger_path)
    assert run["status"] == "error"
    (call,) = calls(ledger_path, run["id"])
    assert call["status"] == "cut"
    assert call["text"] == "one two three"
    assert call["usage_source"] == "unknown"
    assert call["cost_usd"] > 0  # what streamed is paid for


def test_error_event_mid_stream(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server.script(ErrorInStream(after_events=2))
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.PROVIDER
    assert_one_error_line(result.err, "error in stream")


def test_budget_exhausted_before_the_first_call(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(["-m", MODEL, "--max-cost", "0.0000001", "--json", "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.BUDGET
    assert server.requests == []  # nothing was sent
    document = json.loads(result.out)
    assert document["status"] == "budget_exhausted"
    assert document["answer"] is None
    assert document["exit_code"] == ExitCode.BUDGET
    assert document["cost_usd"] == 0
    assert document["max_cost_usd"] == pytest.approx(1e-7)
    assert "budget exhausted" in result.err
    assert result.err.count("budget exhausted") == 1
    assert "Traceback" not in result.err
    (run,) = runs(ledger_path)
    assert run["id"] == document["run_id"]
    assert run["status"] == "budget_exhausted"
    assert run["exit_code"] == ExitCode.BUDGET
    assert run["calls"] == 0
    assert run["error"]
    assert calls(ledger_path) == []


def test_budget_with_unknown_price(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(
        ["-m", "openai:my-finetune-without-a-price", "--max-cost", "1", "hi"], capsys, monkeypatch
    )
    assert result.code == ExitCode.BUDGET
    assert server.requests == []
    assert "price" in result.err
    (run,) = runs(ledger_path)
    assert run["status"] == "budget_exhausted"


def test_corrupt_ledger_still_answers(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger_path.write_bytes(b"this is not a database\n" * 400)
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.out == "The answer is 4.\n"
    assert result.code == ExitCode.NOT_RECORDED
    assert_one_error_line(result.err, "not recorded")


def test_failure_beats_not_recorded(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger_path.write_bytes(b"garbage" * 1000)
    server.script(invalid_api_key())
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.AUTH
    assert "Traceback" not in result.err
    assert all(line.startswith("think: ") for line in result.err.splitlines())


def test_version_and_help_exit_zero(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from think import __version__

    result = run_cli(["--version"], capsys, monkeypatch)
    assert (result.code, result.out) == (ExitCode.OK, f"think {__version__}\n")
    result = run_cli(["--help"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert "ledger" in result.out
    result = run_cli(["ask", "--help"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert "--max-cost" in result.out
