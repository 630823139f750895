"""Helpers shared by the CLI tests: run ``think`` in-process or as a subprocess, read the ledger.

In-process runs go through :func:`think.cli.app.run` (the same error handling as the console
script) with a controlled ``sys.stdin``; output is read from pytest's ``capsys``.
Subprocess runs execute the installed console script with the test's isolated environment.
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.fakes.openai_server import FakeOpenAIServer
from tests.paths import require_think_bin

MODEL = "openai:gpt-4o-mini"
API_KEY = "sk-test-0123456789abcdefXYZ"
ANSI = re.compile(r"\x1b\[")
STYLE = re.compile(r"\x1b\[[0-9;]*m")
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
    *,
    tty: bool = False,
) -> Result:
    """``think ARGV`` in-process; ``stdin=None`` means a terminal (nothing piped).
    ``tty``: stdout says it is a terminal, as for a person (``out`` is what it shows, the
    styles' escapes taken out; long output is paged unless ``--no-pager``); otherwise it is a
    pipe, as for a program."""
    from think.cli.app import run

    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr(sys, "stdin", _stdin(stdin))
        if tty:
            m.setattr(sys.stdout, "isatty", lambda: True)
        code = run(list(argv))
    captured = capsys.readouterr()
    out = STYLE.sub("", captured.out) if tty else captured.out
    return Result(int(code), out, captured.err)


def use_server(monkeypatch: pytest.MonkeyPatch, server: FakeOpenAIServer) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)


def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THINK_MAX_RETRIES", "1")
    monkeypatch.setenv("THINK_RETRY_BASE_DELAY", "0.01")


def start_think(argv: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """The installed console script started with the test's environment (and ``env``),
    stdout and stderr piped (for tests that signal or read it while it runs)."""
    return subprocess.Popen(
        [str(require_think_bin()), *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


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


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            break
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def on_terminal(
    argv: list[str], env: dict[str, str], stream: Literal["stdout", "stderr"] = "stderr"
) -> tuple[int, str, str]:
    """Run think with ``stream`` on a pseudo-terminal and the other one on a pipe; return
    the exit code, what the pipe got and what the terminal showed."""
    controller, terminal = pty.openpty()
    shown: list[bytes] = []
    finished = threading.Event()

    def read_while_running() -> None:  # a full terminal would block the writer
        while not finished.is_set():
            if select.select([controller], [], [], 0.05)[0]:
                try:
                    shown.append(os.read(controller, 65536))
                except OSError:
                    return

    reader = threading.Thread(target=read_while_running)
    try:
        process = subprocess.Popen(
            [str(require_think_bin()), *argv],
            stdin=subprocess.DEVNULL,
            stdout=terminal if stream == "stdout" else subprocess.PIPE,
            stderr=terminal if stream == "stderr" else subprocess.PIPE,
            env={**os.environ, "COLUMNS": "100", **env},
        )
        reader.start()
        out, err = process.communicate(timeout=120)
        finished.set()
        reader.join()
        os.close(terminal)
        terminal = -1
        shown.append(read_all(controller))
    finally:
        finished.set()
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    piped = err if stream == "stdout" else out
    return process.returncode, piped.decode(), b"".join(shown).decode("utf-8", "replace")


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
