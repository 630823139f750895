"""Helpers shared by the CLI tests: run ``think`` in-process or as a subprocess, read the ledger.

In-process runs go through :func:`think.cli.app.run` (the same error handling as the console
script) with a controlled ``sys.stdin``; output is read from pytest's ``capsys``.
Subprocess runs execute the installed console script with the test's isolated environment.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAIServer
from tests.paths import require_think_bin

MODEL = "openai:gpt-4o-mini"
API_KEY = "sk-test-0123456789abcdefXYZ"
ANSI = re.compile(r"\x1b\[")
ERROR_LINE = re.compile(r"think: error: \S[^\n]*\n")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


class _TtyStdin(io.TextIOWrapper):
    """A terminal on stdin: nothing piped in."""

    def isatty(self) -> bool:
        return True


def _stdin(data: bytes | None) -> io.TextIOWrapper:
    if data is None:
        return _TtyStdin(io.BytesIO(b""), encoding="utf-8")
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def run_cli(
    argv: Sequence[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stdin: bytes | None = None,
) -> Result:
    """``think ARGV`` in-process; ``stdin=None`` means a terminal (nothing piped)."""
    from think.cli.app import run

    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr(sys, "stdin", _stdin(stdin))
        code = run(list(argv))
    captured = capsys.readouterr()
    return Result(int(code), captured.out, captured.err)


def use_server(monkeypatch: pytest.MonkeyPatch, server: FakeOpenAIServer) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)


def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THINK_MAX_RETRIES", "1")
    monkeypatch.setenv("THINK_RETRY_BASE_DELAY", "0.01")


def run_think(
    argv: Sequence[str],
    stdin: bytes | None = b"",
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Result:
    """``think ARGV`` as a subprocess of the console script (stdin a pipe)."""
    proc = subprocess.run(
        [str(require_think_bin()), *argv],
        input=stdin,
        capture_output=True,
        env=dict(os.environ) if env is None else env,
        timeout=timeout,
        check=False,
    )
    return Result(
        proc.returncode,
        proc.stdout.decode("utf-8"),
        proc.stderr.decode("utf-8"),
    )


def ledger_rows(path: Path, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    try:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, list(params))]
    finally:
        conn.close()


def runs(path: Path) -> list[dict[str, Any]]:
    return ledger_rows(path, "select * from runs order by started_at, rowid")


def calls(path: Path, run_id: str | None = None) -> list[dict[str, Any]]:
    if run_id is None:
        return ledger_rows(path, "select * from calls order by started_at, rowid")
    return ledger_rows(path, "select * from calls where run_id = ? order by seq", [run_id])


def assert_one_error_line(err: str, contains: str = "") -> None:
    """stderr is exactly one ``think: error: ...`` line, never a traceback."""
    assert "Traceback" not in err
    assert ERROR_LINE.fullmatch(err), f"not one error line: {err!r}"
    assert contains.lower() in err.lower(), f"{contains!r} not in {err!r}"


def help_sections(text: str) -> dict[str, str]:
    """A help text's sections by title (``Models:`` …), each its indented lines joined."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            current = found.setdefault(line[:-1], [])
        elif current is not None and line.startswith(" "):
            current.append(line)
    return {title: "\n".join(lines) for title, lines in found.items()}


ASK_PANELS = ("Input", "Models", "Budget", "Strategy", "Output")
"""The ask options' help panels, in order (``think --help`` and ``think ask --help``)."""
