"""On a terminal, output taller than it goes through THINK_PAGER (else PAGER, else
``less -FRX``); ``--no-pager`` prints it directly; piped output is never paged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli_support import STYLE, on_terminal, run_think
from tests.ledger_support import finished_run, record
from think.ledger.store import Ledger


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A pager that records what it receives, and the environment that selects it."""
    received = tmp_path / "paged.txt"
    script = tmp_path / "pager.sh"
    script.write_text(f'#!/bin/sh\necho "$@" > "{received}.args"\ncat >> "{received}"\n')
    script.chmod(0o755)
    return received, {"THINK_PAGER": f"{script} --from-think", "PAGER": "false", "LINES": "20"}


def test_long_output_on_a_terminal_goes_through_think_pager(
    recorder: tuple[Path, dict[str, str]],
) -> None:
    received, env = recorder
    code, _, shown = on_terminal(["models", "--all"], env, stream="stdout")
    assert code == 0
    paged = STYLE.sub("", received.read_text(encoding="utf-8"))
    assert "anthropic:claude-3-5-haiku-latest" in paged
    assert paged.splitlines()[0].split()[:2] == ["model", "input"]  # the table, for a person
    assert Path(f"{received}.args").read_text(encoding="utf-8") == "--from-think\n"
    assert "claude-3-5-haiku-latest" not in shown  # the pager showed it, not think


def test_pager_comes_from_pager_without_think_pager(
    recorder: tuple[Path, dict[str, str]],
) -> None:
    received, env = recorder
    env = {**env, "PAGER": env.pop("THINK_PAGER")}
    code, _, _ = on_terminal(["models", "--all"], env, stream="stdout")
    assert code == 0
    assert "anthropic:claude-3-5-haiku-latest" in received.read_text(encoding="utf-8")


def test_no_pager_and_short_output_print_directly(recorder: tuple[Path, dict[str, str]]) -> None:
    received, env = recorder
    code, _, shown = on_terminal(["models", "--all", "--no-pager"], env, stream="stdout")
    assert code == 0
    assert "anthropic:claude-3-5-haiku-latest" in shown
    code, _, shown = on_terminal(["models", "--providers"], {**env, "LINES": "200"}, "stdout")
    assert code == 0
    assert "anthropic-messages" in shown
    assert not received.exists()


def test_piped_output_is_never_paged(recorder: tuple[Path, dict[str, str]]) -> None:
    received, env = recorder
    result = run_think(["models", "--all"], env={**os.environ, **env})
    assert result.code == 0
    assert "anthropic:claude-3-5-haiku-latest\t" in result.out
    assert not received.exists()


def test_ledger_and_ledger_show_are_paged(
    recorder: tuple[Path, dict[str, str]], ledger_path: Path
) -> None:
    received, env = recorder
    ledger = Ledger(ledger_path)
    try:
        for index in range(30):
            run_id = f"{index:02d}aa1111bbbb2222"
            record(ledger, finished_run(run_id, f"2026-11-02T03:04:{index:02d}.000Z"))
    finally:
        ledger.close()
    code, _, shown = on_terminal(["ledger", "-n", "30"], env, stream="stdout")
    assert code == 0
    paged = STYLE.sub("", received.read_text(encoding="utf-8"))
    assert paged.splitlines()[0].split()[:2] == ["time", "run"]
    assert "29aa1111" in paged
    assert "29aa1111" not in shown
    received.unlink()
    code, _, shown = on_terminal(
        ["ledger", "show", "29aa", "--no-pager"], {**env, "LINES": "5"}, stream="stdout"
    )
    assert code == 0
    assert "29aa1111bbbb2222" in shown
    assert not received.exists()
    code, _, _ = on_terminal(["ledger", "show", "29aa"], {**env, "LINES": "5"}, stream="stdout")
    assert code == 0
    assert "29aa1111bbbb2222" in received.read_text(encoding="utf-8")
