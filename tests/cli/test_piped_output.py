"""Piped (stdout not a terminal), ``think models`` and ``think ledger`` print one row per
line, fields tab-separated and whole, no header, at any ``COLUMNS``; on a terminal they are
tables whose run ids are never cut. ``think models`` lists the configured providers' models
(``--all``: every provider's), only each vendor's own, with the reasoning ``--effort`` uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_support import run_cli
from tests.ledger_support import finished_run, make_call, record
from think.errors import ExitCode
from think.ledger.store import Ledger
from think.providers.local_llama import local_runtime_available

ANTHROPIC_KEY = "sk-ant-api03-piped-0123456789abcdef"
RUN_ID = "0f3c9a7e2b5d4c8e9a1b2c3d4e5f6a7b"
LONG_MODEL = "openrouter:anthropic/claude-sonnet-4.5-with-a-long-name"
PROMPT = "first line\n\tsecond\tline \x1b[2J " + "long " * 80 + "end"


def rows(out: str) -> list[list[str]]:
    return [line.split("\t") for line in out.splitlines()]


# ----------------------------------------------------------------------------------------
# think models


@pytest.mark.parametrize("columns", ["30", "80", "200"])
def test_models_piped_are_whole_tab_separated_rows(
    columns: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    result = run_cli(["models", "--all"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    table = rows(result.out)
    assert all(len(row) == 6 for row in table), result.out[:500]
    by_model = {row[0]: row for row in table}
    # `think models --all | grep claude-3-5-haiku-latest` finds the whole name
    haiku = [line for line in result.out.splitlines() if "claude-3-5-haiku-latest" in line]
    assert haiku == ["anthropic:claude-3-5-haiku-latest\t$0.80\t$0.08\t$4.00\tCoT\tmissing"]
    assert "model" not in by_model  # no header when piped
    assert "prices:" not in result.out  # nor the footer


def test_each_vendor_lists_only_its_own_models(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    models = [row[0] for row in rows(run_cli(["models", "--all"], capsys, monkeypatch).out)]
    gemini = [model for model in models if model.startswith("gemini:")]
    anthropic = [model for model in models if model.startswith("anthropic:")]
    assert "gemini:gemini-2.5-flash" in gemini
    assert all(model.startswith(("gemini:gemini-", "gemini:gemma-")) for model in gemini), gemini
    assert not [model for model in models if model.startswith("gemini:claude")]
    assert all(model.startswith("anthropic:claude-") for model in anthropic), anthropic


def test_claude_4_5_and_gemini_2_5_reason_natively(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["models", "--all", "--json"], capsys, monkeypatch)
    reasoning = {row["model"]: row["reasoning"] for row in result.json["models"]}
    for model in (
        "anthropic:claude-sonnet-4-5",
        "anthropic:claude-haiku-4-5",
        "anthropic:claude-opus-4-5",
        "anthropic:claude-sonnet-4-6",
        "gemini:gemini-2.5-pro",
        "gemini:gemini-2.5-flash",
        "gemini:gemini-2.5-flash-lite",
        "openai:o4-mini",
    ):
        assert reasoning[model] == "native", model
    for model in ("anthropic:claude-3-5-haiku-latest", "gemini:gemini-1.5-pro", "openai:gpt-4.1"):
        assert reasoning[model] == "CoT", model


def test_models_of_configured_providers_by_default(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    config_path.write_text(
        '[providers.mybox]\nbase_url = "http://127.0.0.1:9/v1"\n'
        '[prices."mybox:qwen3"]\ninput_mtok = 0.1\noutput_mtok = 0.2\n'
        '[prices."groq:llama-x"]\ninput_mtok = 1\noutput_mtok = 2\n',
        encoding="utf-8",
    )
    models = [row[0] for row in rows(run_cli(["models"], capsys, monkeypatch).out)]
    providers = {model.split(":", 1)[0] for model in models}
    assert {"anthropic", "mybox"} <= providers <= {"anthropic", "mybox", "local"}
    assert "anthropic:claude-sonnet-4-5" in models
    assert "mybox:qwen3" in models
    everything = [row[0] for row in rows(run_cli(["models", "--all"], capsys, monkeypatch).out)]
    assert {"groq:llama-x", "openai:gpt-4.1", "mybox:qwen3"} <= set(everything)
    result = run_cli(["models", "--json"], capsys, monkeypatch)
    assert {row["model"].split(":")[0] for row in result.json["models"]} == providers


def test_no_configured_provider_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["models"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    if local_runtime_available():  # the in-process model needs no key: it is listed alone
        assert {row[0].split(":")[0] for row in rows(result.out)} == {"local"}
        return
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert "no provider is configured" in result.err
    assert "think models --all" in result.err


# ----------------------------------------------------------------------------------------
# think ledger


@pytest.fixture
def long_run(ledger_path: Path) -> Path:
    ledger = Ledger(ledger_path)
    try:
        run = finished_run(
            RUN_ID,
            "2026-11-02T03:04:05.000Z",
            "0.0123",
            status="budget_exhausted",
            exit_code=4,
            strategy="cascade",
            answer_model=LONG_MODEL,
            prompt=PROMPT,
            votes={"4": 2, "5": 1},
            escalated=True,
        )
        record(ledger, run, make_call(RUN_ID, 1, provider="openrouter", model=LONG_MODEL[11:]))
    finally:
        ledger.close()
    return ledger_path


@pytest.mark.parametrize("columns", ["40", "80", "200"])
def test_ledger_piped_prints_every_field_whole(
    columns: str,
    long_run: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    result = run_cli(["ledger"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    ((started, run_id, status, strategy, model, agree, esc, usd, prompt),) = rows(result.out)
    assert started.startswith("2026-11-0")  # ISO, local
    assert "T" in started
    assert (run_id, status, strategy, model) == (RUN_ID, "budget_exhausted", "cascade", LONG_MODEL)
    assert (agree, esc, usd) == ("2/3", "yes", "$0.012")
    # one run stays one line: tabs and newlines escaped, control characters shown
    assert prompt == PROMPT.replace("\n", "\\n").replace("\t", "\\t").replace("\x1b", "\\x1b")
    assert "…" not in result.out


def test_ledger_show_piped_cuts_no_call_cell(
    long_run: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    result = run_cli(["ledger", "show", RUN_ID[:6]], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    assert LONG_MODEL in result.out
    assert f"run          {RUN_ID}" in result.out
    assert "budget_exhausted" in result.out
    assert "…" not in result.out


@pytest.mark.parametrize("columns", ["30", "50", "80"])
def test_ledger_on_a_narrow_terminal_never_cuts_the_run_id(
    columns: str,
    long_run: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    result = run_cli(["ledger", "--no-pager"], capsys, monkeypatch, tty=True)
    assert result.code == ExitCode.OK, result.err
    lines = result.out.splitlines()
    assert lines[0].split()[:3] == ["time", "run", "status"]
    assert f" {RUN_ID[:8]} " in lines[1]
