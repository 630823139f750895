"""Stored and model text is shown as text: Rich markup in a prompt or an answer is never
parsed (no crash, no eaten tags), and ANSI escapes and other control characters are shown
as escapes, never sent to the terminal — in every view that shows such text."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from tests.cli_support import MODEL, run_cli, use_server
from tests.fakes.openai_server import FakeOpenAIServer, Generate
from think import events
from think.cli.console import printable
from think.cli.live_view import LiveState, LiveView
from think.errors import ExitCode

PROMPTS = ("close [/x] tag", "[slow] x", "[bold]loud[/bold] and \x1b]0;pwned\x07 title")
ANSWER = "[/] not markup \x1b[2J\x1b[31mred\x1b[0m\rover [link=http://x]y[/link]"


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    fake_openai.script(*[Generate(answer=ANSWER)] * len(PROMPTS))
    return fake_openai


def assert_safe(out: str) -> None:
    assert "\x1b" not in out
    assert "\r" not in out
    assert "\x07" not in out


def test_printable_shows_control_characters_and_keeps_lines() -> None:
    assert printable("a\x1b[31mb\tc\nd\r\x07\x9b") == "a\\x1b[31mb\tc\nd\\x0d\\x07\\x9b"


def test_markup_and_escapes_through_the_ledger_views(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for prompt in PROMPTS:
        result = run_cli(["-s", "single", "-m", MODEL, prompt], capsys, monkeypatch)
        assert result.code == ExitCode.OK, result.err
    views = {
        "list": ["ledger"],
        "search": ["ledger", "-q", "close"],
        "filtered": ["ledger", "--status", "ok", "-n", "1"],
        "stats": ["ledger", "stats", "--by", "model"],
    }
    for name, argv in views.items():
        result = run_cli(argv, capsys, monkeypatch)
        assert result.code == ExitCode.OK, (name, result.err)
        assert_safe(result.out)
    listed = run_cli(["ledger", "-n", "5"], capsys, monkeypatch).out
    assert "close [/x" in listed  # (the prompt column is cut to the 80-column table)
    assert "[slow] x" in listed  # the tag is not eaten
    assert "[bold]lou" in listed  # shown, not made bold
    found = run_cli(["ledger", "-q", "close"], capsys, monkeypatch).out
    assert "close [/x" in found
    run_id = run_cli(["ledger", "--json", "-n", "1"], capsys, monkeypatch).json["id"]
    shown = run_cli(["ledger", "show", run_id], capsys, monkeypatch)
    assert shown.code == ExitCode.OK, shown.err
    assert_safe(shown.out)
    assert "[bold]loud[/bold]" in shown.out
    assert "\\x1b]0;pwned\\x07" in shown.out  # shown, not obeyed
    assert "[/] not markup \\x1b[2J\\x1b[31mred\\x1b[0m\\x0dover [link=http://x]y[/link]" in (
        shown.out
    )


def test_markup_and_escapes_in_the_live_view() -> None:
    target = Console(file=io.StringIO(), width=100, force_terminal=True, markup=False)
    view = LiveView(target, show_answer=True)
    state: LiveState = view.state
    state.apply(events.AnswerText("r-001", ANSWER))
    state.apply(events.ReasoningText("r-001", "thinking [red]hard[/red] \x1b[5mblink"))
    rendered = Console(file=io.StringIO(), width=100, markup=False, color_system=None)
    rendered.print(view.render())
    assert isinstance(rendered.file, io.StringIO)
    out = rendered.file.getvalue()
    assert_safe(out)
    assert "[/] not markup \\x1b[2J" in out


def test_markup_in_config_values_reaches_think_models_intact(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # an IPv6 base URL is the everyday case of square brackets
    config_path.write_text('[providers.mybox]\nbase_url = "http://[::1]:9/v1"\n', encoding="utf-8")
    result = run_cli(["models", "--providers"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    assert "http://[::1]:9/v1" in result.out


def test_markup_and_escapes_in_setting_names_through_the_eval_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grid's setting names are the user's text: the eval table shows them as written."""
    names = ("close [/x] tag", "[bold]loud[/bold] \x1b[31mred")
    grid = tmp_path / "grid.toml"
    grid.write_text(
        "".join(
            f'[[setting]]\nname = "{name.replace(chr(27), chr(92) + "u001b")}"\n'
            'strategy = "single"\nmodel = "cheap"\n'
            for name in names
        ),
        encoding="utf-8",
    )
    dataset = tmp_path / "set.jsonl"
    dataset.write_text(json.dumps(replay_record()) + "\n", encoding="utf-8")
    models = ["--cheap", "replay:small", "--strong", "replay:big"]
    monkeypatch.setenv("COLUMNS", "200")  # names whole, not folded
    result = run_cli(
        ["eval", str(dataset), *models, "--grid", str(grid), "--fresh"],
        capsys,
        monkeypatch,
        stdin=b"",
    )
    assert result.code == ExitCode.OK, result.err
    assert_safe(result.out)
    assert "close [/x] tag" in result.out
    assert "[bold]loud[/bold] \\x1b[31mred" in result.out


def replay_record() -> dict[str, object]:
    text = {
        "style": "COT",
        "text": "The answer is 4.",
        "usage": {"input_tokens": 5, "output_tokens": 4, "cost_usd": 0.001},
    }
    return {
        "id": "t/1",
        "question": "What is 2+2?",
        "gold": "4",
        "answer_kind": "number",
        "responses": {"small": [text], "big": [text]},
    }
