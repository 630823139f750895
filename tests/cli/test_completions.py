"""The committed completion scripts are current and work in a real shell."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import typer.main

from tests.paths import COMPLETIONS
from think.cli.app import app
from think.cli.completion_scripts import FILE_NAMES, SHELLS, script


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_script_is_current(shell: str) -> None:
    committed = (COMPLETIONS / FILE_NAMES[shell]).read_text(encoding="utf-8")
    assert committed == script(shell, typer.main.get_command(app)), (
        "completions/ is stale: run `think completion --write completions`"
    )


def bash_complete(*words: str) -> list[str]:
    line = " ".join(f"'{w}'" for w in words)
    program = (
        f"source {COMPLETIONS / 'think.bash'}; COMP_WORDS=(think {line}); "
        f"COMP_CWORD={len(words)}; _think; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return [w for w in result.stdout.splitlines() if w]


def test_bash_completes_commands_and_options() -> None:
    assert bash_complete("led") == ["ledger"]
    assert set(bash_complete("ledger", "--")) == {
        "--limit",
        "--since",
        "--model",
        "--status",
        "--escalated",
        "--not-escalated",
        "--query",
        "--host",
        "--user",
        "--batch",
        "--json",
        "--csv",
        "--no-pager",
        "--help",
    }
    assert bash_complete("config", "s") == ["show"]
    assert "--max-cost" in bash_complete("--max")
    assert "--max-cost" in bash_complete("ask", "--max")
    assert bash_complete("bat") == ["batch"]
    assert {"--restart", "--results", "--concurrency"} <= set(bash_complete("batch", "--"))


@pytest.mark.parametrize(("shell", "flag"), [("zsh", "-n"), ("fish", "--no-execute")])
def test_script_syntax(shell: str, flag: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    path = COMPLETIONS / FILE_NAMES[shell]
    result = subprocess.run([shell, flag, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_completion_command_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    from think.cli.app import run

    assert run(["completion", "bash"]) == 0
    assert capsys.readouterr().out == script("bash", typer.main.get_command(app))
    assert run(["completion", "tcsh"]) == 2


def test_completion_write_regenerates_the_committed_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from think.cli.app import run

    assert run(["completion", "--write", str(tmp_path)]) == 0
    for shell in SHELLS:
        written = (tmp_path / FILE_NAMES[shell]).read_text(encoding="utf-8")
        assert written == (COMPLETIONS / FILE_NAMES[shell]).read_text(encoding="utf-8")
    assert str(tmp_path / FILE_NAMES["bash"]) in capsys.readouterr().out
