"""The CLI in-process: routing of ``think PROMPT`` vs subcommands, stdout discipline,
``--json``, ``--quiet``, ``NO_COLOR``, ``think models``.

Output checks use Typer's ``CliRunner``; exit codes and error lines go through
:func:`think.cli.app.run` (the console script's error handling).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli_support import (
    ANSI,
    API_KEY,
    MODEL,
    assert_one_error_line,
    calls,
    run_cli,
    runs,
    use_server,
)
from tests.fakes.openai_server import FakeOpenAIServer
from think.cli.app import app
from think.errors import ExitCode


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


def sent_prompts(server: FakeOpenAIServer) -> list[str]:
    return [r.json["messages"][-1]["content"] for r in server.chat_requests]


# ----------------------------------------------------------------------------------------
# Routing


def test_prompt_and_ask_and_double_dash_ask_the_model(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for argv in (
        ["-m", MODEL, "what", "is", "this"],
        ["ask", "-m", MODEL, "ledger"],
        ["-m", MODEL, "--", "ledger"],
        ["-m", MODEL, "ledger"],
        ["ask", "-m", MODEL, "--", "--json"],
    ):
        result = run_cli(argv, capsys, monkeypatch)
        assert result.code == ExitCode.OK, (argv, result.err)
        assert result.out == "The answer is 4.\n"
    assert sent_prompts(server) == ["what is this", "ledger", "ledger", "ledger", "--json"]
    assert len(runs(ledger_path)) == 5


@pytest.mark.parametrize(
    ("argv", "meant"),
    [(["ledgr"], "ledger"), (["confg", "show"], "config"), (["modles"], "models")],
)
def test_a_mistyped_command_is_refused_not_paid_for(
    argv: list[str],
    meant: str,
    server: FakeOpenAIServer,
    ledger_path: Path,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path.write_text(f'model = "{MODEL}"\n', encoding="utf-8")
    result = run_cli(argv, capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, f"did you mean `think {meant}`?")
    assert sent_prompts(server) == []
    assert not ledger_path.exists() or runs(ledger_path) == []
    # the documented ways to send such a word as a question still do
    for sent in (["ask", *argv], ["--", *argv]):
        assert run_cli(sent, capsys, monkeypatch).code == ExitCode.OK
    assert sent_prompts(server) == [" ".join(argv)] * 2


def test_words_that_are_not_near_a_command_are_prompts(
    server: FakeOpenAIServer,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path.write_text(f'model = "{MODEL}"\n', encoding="utf-8")
    for argv in (["explain"], ["summarise", "this"], ["Ledgers?"], ["why"]):
        assert run_cli(argv, capsys, monkeypatch).code == ExitCode.OK, argv
    assert sent_prompts(server) == ["explain", "summarise this", "Ledgers?", "why"]


def test_double_dash_before_everything(
    server: FakeOpenAIServer,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path.write_text(f'model = "{MODEL}"\n', encoding="utf-8")
    result = run_cli(["--", "ledger"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert sent_prompts(server) == ["ledger"]
    result = run_cli(["--", "--json", "models"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert result.out == "The answer is 4.\n"  # "--json" is part of the prompt here
    assert sent_prompts(server)[-1] == "--json models"


def test_think_ledger_lists_instead_of_asking(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    run_cli(["-m", MODEL, "first"], capsys, monkeypatch)
    result = run_cli(["ledger"], capsys, monkeypatch, tty=True)
    assert result.code == ExitCode.OK
    assert len(server.chat_requests) == 1  # nothing asked
    assert "first" in result.out
    assert result.out.split()[:2] == ["time", "run"]


def test_root_without_arguments_prints_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli([], capsys, monkeypatch)  # stdin is a terminal
    assert result.code == ExitCode.OK
    assert "Usage: think" in result.out
    for command in ("ask", "ledger", "config", "models"):
        assert command in result.out


def test_cli_runner_routes_like_the_console_script(
    server: FakeOpenAIServer, ledger_path: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ask", "-m", MODEL, "ledger"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "The answer is 4.\n"
    assert result.stderr == ""
    result = runner.invoke(app, ["ledger", "--json"])
    assert result.exit_code == 0
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["prompt"] == "ledger"
    assert len(server.chat_requests) == 1


def test_cli_runner_stdin_and_argument(server: FakeOpenAIServer) -> None:
    result = CliRunner().invoke(app, ["-m", MODEL, "summarise"], input="some notes\n")
    assert result.exit_code == 0, result.output
    assert sent_prompts(server) == ["some notes\n\nsummarise"]


# ----------------------------------------------------------------------------------------
# stdout discipline, --json, --quiet


def test_stdout_is_only_the_answer(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server.answer = "Line one.\n\nLine two."
    result = run_cli(["-m", MODEL, "two lines please"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert result.out == "Line one.\n\nLine two.\n"
    assert result.err == ""  # stderr is not a terminal: no live view, no summary


def test_answer_ending_in_newline_gets_no_extra_one(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server.answer = "done\n"
    result = run_cli(["-m", MODEL, "x"], capsys, monkeypatch)
    assert result.out == "done\n"


def test_json_document(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(["-m", MODEL, "--json", "what is 2+2?"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert result.out.count("\n") == 1
    document = json.loads(result.out)
    assert document["answer"] == "The answer is 4."
    assert document["status"] == "ok"
    assert document["exit_code"] == 0
    assert document["models"] == [MODEL]
    assert document["answer_model"] == MODEL
    assert document["strategy"] == "single"
    assert document["calls"] == 1
    assert document["error"] is None
    assert document["cost_usd"] > 0
    assert document["cost_source"] == "computed"
    assert document["tokens"] == {"input": 3, "output": 4, "reasoning": 0, "cached": 0}
    (run,) = runs(ledger_path)
    assert run["id"] == document["run_id"]
    assert run["cost_usd"] == pytest.approx(document["cost_usd"])
    assert result.err == ""


def test_json_on_failure_is_still_one_document(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.openai_server import invalid_api_key

    server.script(invalid_api_key())
    result = run_cli(["-m", MODEL, "--json", "x"], capsys, monkeypatch)
    assert result.code == ExitCode.AUTH
    document = json.loads(result.out)
    assert document["status"] == "error"
    assert document["exit_code"] == ExitCode.AUTH
    assert "401" in document["error"]
    assert document["answer"] is None


def test_quiet_is_accepted(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for flag in ("--quiet", "-q"):
        result = run_cli([flag, "-m", MODEL, "hi"], capsys, monkeypatch)
        assert result.code == ExitCode.OK
        assert result.out == "The answer is 4.\n"
        assert result.err == ""
    result = run_cli(["-m", MODEL, "hi", "--quiet", "--json"], capsys, monkeypatch)
    assert json.loads(result.out)["status"] == "ok"


def test_options_after_the_prompt(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["hello", "world", "-m", MODEL, "--max-tokens", "9"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert sent_prompts(server) == ["hello world"]
    assert server.chat_requests[0].json["max_completion_tokens"] == 9


def test_request_carries_the_key_and_streams(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_cli(
        ["-m", MODEL, "--temperature", "0.5", "--system", "Be brief.", "hi"], capsys, monkeypatch
    )
    (request,) = server.chat_requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    body = request.json
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.5
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    (call,) = calls(ledger_path)
    assert call["input_tokens"] == 3  # the fake's count: "Be brief." + "hi"


# ----------------------------------------------------------------------------------------
# NO_COLOR


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", MODEL, "hi"],
        ["-m", MODEL, "--json", "hi"],
        ["ledger"],
        ["ledger", "--json"],
        ["config", "show"],
        ["models"],
        ["models", "--json"],
        ["-m", "bogus", "hi"],
    ],
)
def test_no_ansi_escapes_with_no_color(
    argv: list[str],
    server: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_cli(["-m", MODEL, "seed the ledger"], capsys, monkeypatch)
    monkeypatch.setenv("NO_COLOR", "1")
    result = run_cli(argv, capsys, monkeypatch)
    assert not ANSI.search(result.out)
    assert not ANSI.search(result.err)


# ----------------------------------------------------------------------------------------
# think models


def test_models_lists_presets_with_key_status(
    server: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = run_cli(["models", "--providers", "--no-pager"], capsys, monkeypatch, tty=True)
    assert result.code == ExitCode.OK
    rows = {line.split()[0]: line for line in result.out.splitlines()[1:] if line.strip()}
    assert result.out.split()[:4] == ["provider", "protocol", "location", "key"]
    for name in ("openai", "openrouter", "deepseek", "groq", "ollama", "vllm", "llamacpp"):
        assert name in rows
    assert "configured" in rows["openai"]
    assert server.base_url in rows["openai"]  # OPENAI_BASE_URL applies
    assert "missing (DEEPSEEK_API_KEY)" in rows["deepseek"]
    assert "not needed" in rows["ollama"]
    assert API_KEY not in result.out


def test_models_json(
    server: FakeOpenAIServer,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path.write_text(
        f'[providers.mine]\nbase_url = "http://127.0.0.1:1/v1"\n[aliases]\nfast = "{MODEL}"\n',
        encoding="utf-8",
    )
    result = run_cli(["models", "--json"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    document = result.json
    providers = {row["provider"]: row for row in document["providers"]}
    assert providers["openai"]["key"] == "configured"
    assert providers["openai"]["location"] == server.base_url
    assert providers["openai"]["protocol"] == "openai-chat"
    assert providers["openai"]["n_per_request"] is True
    assert providers["groq"]["key"] == "missing (GROQ_API_KEY)"
    assert providers["mine"]["key"] == "not needed"
    assert providers["mine"]["location"] == "http://127.0.0.1:1/v1"
    assert document["aliases"] == {"fast": MODEL}
    for row in document["providers"]:
        assert set(row) == {"provider", "protocol", "location", "key", "n_per_request", "local"}
    assert API_KEY not in result.out


def test_models_lists_prices_reasoning_and_keys(
    server: FakeOpenAIServer,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path.write_text(
        '[prices."ollama:qwen3:8b"]\ninput_mtok = 0.05\noutput_mtok = 0.2\n'
        '[prices."openai:gpt-4.1-mini"]\ninput_mtok = 9\noutput_mtok = 10\n',
        encoding="utf-8",
    )
    result = run_cli(["models", "--all", "--json"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    rows = {row["model"]: row for row in result.json["models"]}
    o4 = rows["openai:o4-mini"]
    assert (o4["input_per_mtok"], o4["cached_input_per_mtok"], o4["output_per_mtok"]) == (
        "1.1",
        "0.275",
        "4.4",
    )
    assert o4["reasoning"] == "native"
    assert o4["key"] == "configured"
    assert o4["price_source"] == "genai-prices"
    assert rows["openai:gpt-4.1"]["reasoning"] == "CoT"
    assert rows["groq:llama-3.3-70b-versatile"]["key"] == "missing (GROQ_API_KEY)"
    # Configured prices win over the catalogue and add models it does not know.
    assert rows["openai:gpt-4.1-mini"]["input_per_mtok"] == "9"
    assert rows["openai:gpt-4.1-mini"]["price_source"] == "config"
    assert rows["ollama:qwen3:8b"]["output_per_mtok"] == "0.2"
    # Local and replay models are listed with their (zero or built-in) prices.
    assert rows["local:smollm2"]["output_per_mtok"] == "0"
    assert rows["replay:gpt-4"]["input_per_mtok"] == "30"
    assert API_KEY not in result.out


def test_models_filter_and_table(
    server: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    result = run_cli(["models", "O4-MINI"], capsys, monkeypatch, tty=True)
    assert result.code == ExitCode.OK
    lines = result.out.splitlines()
    assert lines[0].split() == ["model", "input", "cached", "output", "reasoning", "key"]
    models = [line.split()[0] for line in lines[1:-1]]
    assert "openai:o4-mini" in models
    assert all("o4-mini" in model for model in models)
    row = next(line for line in lines if line.startswith("openai:o4-mini "))
    assert row.split()[1:] == ["$1.10", "$0.275", "$4.40", "native", "configured"]
    assert run_cli(["models", "no-such-model", "--json"], capsys, monkeypatch).json["models"] == []


def test_models_without_keys(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["models", "--json"], capsys, monkeypatch)
    providers = {row["provider"]: row for row in result.json["providers"]}
    assert providers["openai"]["key"] == "missing (OPENAI_API_KEY)"
    assert providers["openai"]["location"] == "https://api.openai.com/v1"


def test_an_explicit_effort_is_never_dropped_in_single_mode(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # o4-mini has a native reasoning control: the effort asked for is what is sent
    for argv in (
        ["-m", "openai:o4-mini", "--effort", "high", "hi"],
        ["-s", "single", "-m", "openai:o4-mini", "--effort", "low", "hi"],
    ):
        result = run_cli([*argv, "--json"], capsys, monkeypatch)
        assert result.code == ExitCode.OK, result.err
        assert result.json["strategy"] == "reason"
        assert server.chat_requests[-1].json["reasoning_effort"] == argv[argv.index("--effort") + 1]
    # without --effort, single mode stays a plain answer
    result = run_cli(["-m", "openai:o4-mini", "--json", "hi"], capsys, monkeypatch)
    assert result.json["strategy"] == "single"
    assert "reasoning_effort" not in server.chat_requests[-1].json
