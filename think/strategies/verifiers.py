"""Verifiers: a second opinion on a candidate answer before it is accepted.

* ``judge``: a (cheap) model is asked whether the candidate is correct.
* ``command``: ``--verify-cmd CMD`` runs CMD (split like a shell would, but never through
  a shell, so model text is never interpolated) with the candidate answer on stdin, the
  extracted final answer in ``THINK_FINAL_ANSWER`` and, when the answer holds fenced code,
  the last code block written to a file whose path is in ``THINK_ANSWER_CODE_FILE`` (with the
  block's language, if given, in ``THINK_ANSWER_CODE_LANG``); exit status 0 accepts. A
  command that cannot start or times out is a failed check, never a pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from think.calls import run_call
from think.errors import UsageError
from think.model_ref import ModelRef
from think.providers.base import Message
from think.strategies.answers import FENCE_RE
from think.strategies.base import RunContext
from think.strategies.sampling import Sample, request_for

VERIFY_STAGE = "verify"
CODE_SUFFIX = {
    "python": ".py",
    "py": ".py",
    "javascript": ".js",
    "js": ".js",
    "typescript": ".ts",
    "ts": ".ts",
    "bash": ".sh",
    "sh": ".sh",
    "shell": ".sh",
    "go": ".go",
    "rust": ".rs",
    "c": ".c",
    "cpp": ".cpp",
    "java": ".java",
    "ruby": ".rb",
    "sql": ".sql",
}
JUDGE_SYSTEM = (
    "You check answers to questions. Work the problem out yourself, compare, and finish "
    "with exactly one line: VERDICT: correct, or VERDICT: incorrect."
)
VERDICT = re.compile(r"verdict\s*[:\-]?\s*\**\s*(correct|incorrect|yes|no)", re.IGNORECASE)


def last_code_block(text: str) -> tuple[str, str] | None:
    """The last fenced code block in ``text``: its language (lower case, may be empty) and
    its code."""
    blocks = list(FENCE_RE.finditer(text))
    if not blocks:
        return None
    last = blocks[-1]
    return last["lang"].lower(), last["code"]


@dataclass(frozen=True)
class Verdict:
    passed: bool
    detail: str
    critique: str = ""


class Verifier(Protocol):
    @property
    def name(self) -> str: ...

    async def check(self, ctx: RunContext, candidate: Sample) -> Verdict: ...


@dataclass(frozen=True)
class JudgeVerifier:
    model: ModelRef
    name: str = "judge"

    async def check(self, ctx: RunContext, candidate: Sample) -> Verdict:
        messages = (
            Message("system", JUDGE_SYSTEM),
            Message(
                "user",
                f"Question:\n{ctx.prompt}\n\nProposed answer:\n{candidate.text}\n\n"
                "Is the proposed final answer correct?",
            ),
        )
        request = request_for(ctx, self.model, messages=messages, temperature=0.0)
        provider = ctx.provider_for(self.model)
        outcome = await run_call(ctx.calls, provider, self.model, request, VERIFY_STAGE)
        text = outcome.record.texts[0] if outcome.record.texts else ""
        if outcome.error is not None:
            return Verdict(False, f"judge failed: {outcome.error}")
        found = VERDICT.findall(text)
        if not found:
            return Verdict(False, "judge gave no verdict", text)
        passed = found[-1].lower() in ("correct", "yes")
        return Verdict(passed, f"judge: {'correct' if passed else 'incorrect'}", text)


@dataclass(frozen=True)
class CommandVerifier:
    command: tuple[str, ...]
    timeout: float = 30.0
    name: str = "command"

    @classmethod
    def parse(cls, command: str, timeout: float) -> CommandVerifier:
        try:
            argv = tuple(shlex.split(command))
        except ValueError as exc:
            raise UsageError(f"--verify-cmd: {exc}") from exc
        if not argv:
            raise UsageError("--verify-cmd is empty")
        if shutil.which(argv[0]) is None:  # found before any call is paid for
            where = "is not an executable file" if os.sep in argv[0] else "is not found on PATH"
            raise UsageError(f"--verify-cmd: {argv[0]} {where}")
        return cls(argv, timeout)

    async def check(self, ctx: RunContext, candidate: Sample) -> Verdict:
        env = {
            **os.environ,
            "THINK_FINAL_ANSWER": candidate.answer.text if candidate.answer else "",
        }
        with tempfile.TemporaryDirectory(prefix="think-verify-") as scratch:
            code = last_code_block(candidate.text)
            if code is not None:
                language, body = code
                path = Path(scratch) / f"answer{CODE_SUFFIX.get(language, '.txt')}"
                path.write_text(body, encoding="utf-8")
                env["THINK_ANSWER_CODE_FILE"] = str(path)
                env["THINK_ANSWER_CODE_LANG"] = language
            return await self._run(candidate, env)

    async def _run(self, candidate: Sample, env: dict[str, str]) -> Verdict:
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
            )
        except OSError as exc:
            return Verdict(False, f"verify command cannot run {self.command[0]}: {exc.strerror}")
        try:
            output, _ = await asyncio.wait_for(
                process.communicate(candidate.text.encode("utf-8")), self.timeout
            )
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            return Verdict(False, f"verify command timed out after {self.timeout:g}s")
        text = output.decode("utf-8", "replace").strip()
        if process.returncode == 0:
            return Verdict(True, "verify command accepted", text)
        return Verdict(False, f"verify command rejected (exit {process.returncode})", text)
