"""Scoring a code answer: its code run against a hidden test, always in a subprocess.

``think eval`` scores a code item (``answer_kind: "code"``) with one of two hidden tests:

* ``test``: Python source run after the answer's code (preceded by the item's
  ``code_prefix``, such as a HumanEval prompt whose imports and helpers the answer may use),
  then ``check(<entry_point>)`` when the item names one (HumanEval's convention), in a fresh
  isolated interpreter (``python -I``);
* ``score_cmd``: a command (split like a shell would, never run through one) that finds the
  answer's code in the file named by ``THINK_ANSWER_CODE_FILE`` and the whole answer on stdin.

Either passes when it exits 0 within its timeout. The code is the answer's last fenced block,
else the answer without a stray fence. Every run gets a new empty temporary directory as its
working directory; a test that hangs is killed (its whole process group) and, like one that
crashes or cannot start, is a failure with its reason, never an error of the evaluation.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from think.strategies.normalize import collapse
from think.strategies.verifiers import CODE_SUFFIX, last_code_block

TIMEOUT = 10.0
"""Seconds a hidden test may run (an item's ``timeout`` overrides it)."""
SHOWN = 200
"""Characters of a failing test's output kept in its reason."""


@dataclass(frozen=True)
class CodeTest:
    """A code item's hidden test: ``test`` (Python) or ``score_cmd`` (a command)."""

    test: str | None = None
    entry_point: str | None = None
    code_prefix: str = ""
    score_cmd: tuple[str, ...] | None = None
    timeout: float = TIMEOUT


@dataclass(frozen=True)
class Outcome:
    passed: bool
    reason: str
    output: str = ""
    """What the program wrote (stdout and stderr), when it ran to its end."""


def answer_code(text: str) -> str:
    """The code a user would take from an answer: its last fenced block, else the text
    without a stray opening or closing fence (a model that wrote one inside its code)."""
    block = last_code_block(text)
    if block is not None:
        return block[1]
    return re.sub(r"^```[\w+-]*[ \t]*\n|```\s*$", "", text.strip())


def run_program(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    stdin: str = "",
    env: dict[str, str] | None = None,
    what: str = "program",
) -> Outcome:
    """Run ``argv`` in ``cwd`` in a new process group; passed when it exits 0 in time."""
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return Outcome(False, f"{what} cannot run {argv[0]}: {exc.strerror or exc}")
    try:
        output, _ = process.communicate(stdin.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.communicate()
        return Outcome(False, f"{what} timed out after {timeout:g}s")
    finally:
        _kill_group(process)  # what the program left running in its group
    text = output.decode("utf-8", "replace")
    if process.returncode == 0:
        return Outcome(True, f"{what} passed", text)
    shown = collapse(text.strip()[-SHOWN:])
    reason = f"{what} failed (exit {process.returncode}){': ' if shown else ''}{shown}"
    return Outcome(False, reason, text)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def run_python(program: str, timeout: float = TIMEOUT, what: str = "program") -> Outcome:
    """``program`` in a fresh isolated interpreter, in a new temporary directory."""
    with tempfile.TemporaryDirectory(prefix="think-code-") as scratch:
        path = Path(scratch) / "program.py"
        path.write_text(program, encoding="utf-8")
        argv = [sys.executable, "-I", str(path)]
        return run_program(argv, cwd=Path(scratch), timeout=timeout, what=what)


def hidden_program(code: str, test: str, entry_point: str | None) -> str:
    """The answer's code, then the test, then HumanEval's ``check(entry_point)`` call."""
    call = f"\n\ncheck({entry_point})\n" if entry_point else "\n"
    return f"{code}\n\n{test}{call}"


def score_answer(answer: str | None, test: CodeTest) -> Outcome:
    """Whether ``answer``'s code passes the hidden ``test``, and why (or why not)."""
    if not answer or not answer.strip():
        return Outcome(False, "no answer to test")
    code = answer_code(answer)
    if test.test is not None:
        prefixed = f"{test.code_prefix}\n{code}" if test.code_prefix else code
        program = hidden_program(prefixed, test.test, test.entry_point)
        return run_python(program, test.timeout, what="hidden test")
    assert test.score_cmd is not None
    block = last_code_block(answer)
    suffix = CODE_SUFFIX.get(block[0] if block else "", ".txt")
    with tempfile.TemporaryDirectory(prefix="think-score-") as scratch:
        path = Path(scratch) / f"answer{suffix}"
        path.write_text(code, encoding="utf-8")
        env = {**os.environ, "THINK_ANSWER_CODE_FILE": str(path)}
        return run_program(
            test.score_cmd,
            cwd=Path(scratch),
            timeout=test.timeout,
            stdin=answer,
            env=env,
            what="score command",
        )
