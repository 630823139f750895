"""``think --help`` and ``think ask --help``: the ask options in panels, with word metavars
and their defaults (``think PROMPT`` is ``think ask PROMPT``, so the top help shows them)."""

from __future__ import annotations

import re

import pytest
import typer.main

from tests.cli_support import ASK_PANELS, help_sections, run_cli
from think.cli.app import app
from think.config.settings import Settings
from think.errors import ExitCode

TYPE_NAMES = re.compile(r"<[a-z][^>]*>|\b(?:FLOAT|INTEGER|TEXT RANGE)\b|range")
"""Typer's type metavars (``<int range>``, ``<str>``, ``FLOAT``) that should not show."""

EXPECTED = {
    "Input": ("-f, --file FILE",),
    "Models": ("-m, --model MODEL", "--cheap MODEL", "--strong MODEL", "--judge MODEL"),
    "Budget": ("--max-cost USD", "--max-tokens N", "--dry-run"),
    "Strategy": ("-n, --samples N", "--rounds N", "--verify-cmd CMD", "-s, --strategy NAME"),
    "Output": ("--json", "-q, --quiet", "--no-log"),
}


def ask_help(
    argv: list[str],
    columns: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    monkeypatch.setenv("COLUMNS", columns)
    result = run_cli(argv, capsys, monkeypatch)
    assert (result.code, result.err) == (ExitCode.OK, "")
    return result.out


def check_panels(text: str) -> None:
    sections = help_sections(text)
    titles = [title for title in sections if title in ASK_PANELS]
    assert titles == list(ASK_PANELS)
    for panel, rows in EXPECTED.items():
        for row in rows:
            assert re.search(rf"^  {re.escape(row)}(\s|$)", sections[panel], re.M), (panel, row)
    assert not TYPE_NAMES.search(text), TYPE_NAMES.search(text)


@pytest.mark.parametrize("columns", ["80", "120"])
def test_top_help_shows_the_ask_options_in_panels(
    columns: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = ask_help(["--help"], columns, capsys, monkeypatch)
    assert text.startswith("Usage: think [OPTIONS] PROMPT... | COMMAND [ARGS]...")
    check_panels(text)
    sections = help_sections(text)
    for command in ("ask", "ledger", "config", "models", "eval"):
        assert re.search(rf"^  {command}\s", sections["Commands"], re.M)
    assert "--version" in sections["Options"]


@pytest.mark.parametrize("columns", ["80", "120"])
def test_ask_help_shows_the_same_panels(
    columns: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    top = help_sections(ask_help(["--help"], columns, capsys, monkeypatch))
    text = ask_help(["ask", "--help"], columns, capsys, monkeypatch)
    check_panels(text)
    ask = help_sections(text)
    for panel in ("Arguments", *ASK_PANELS):
        assert ask[panel] == top[panel]


def test_defaults_shown_are_the_settings_defaults(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sections = help_sections(ask_help(["--help"], "200", capsys, monkeypatch))
    fields = Settings.model_fields
    for panel, option, name in [
        ("Strategy", "--samples N", "samples"),
        ("Strategy", "--rounds N", "rounds"),
        ("Strategy", "--verifier NAME", "verifier"),
        ("Budget", "--max-tokens N", "max_tokens"),
    ]:
        row = " ".join(sections[panel].split(option, 1)[1].split("\n  -")[0].split())
        assert f"[default: {fields[name].default}]" in row, (option, row)
    assert "[default: by API key" in sections["Models"]


def test_every_ask_option_is_in_one_panel() -> None:
    command = typer.main.get_command(app)
    ask = command.commands["ask"]  # type: ignore[attr-defined]
    panels = {
        param.name: getattr(param, "rich_help_panel", None)
        for param in ask.params
        if param.param_type_name == "option"
    }
    assert set(panels.values()) == set(ASK_PANELS), panels


def every_command_path() -> list[list[str]]:
    """Each command and subcommand of the app, as the argv that names it."""
    import click

    paths: list[list[str]] = []

    def walk(command: click.Command, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


@pytest.mark.parametrize("path", every_command_path(), ids=lambda p: " ".join(p) or "think")
def test_no_help_shows_a_type_metavar(
    path: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = ask_help([*path, "--help"], "120", capsys, monkeypatch)
    assert not TYPE_NAMES.search(text), (path, TYPE_NAMES.search(text))
