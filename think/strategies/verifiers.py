"""Verifiers: a second opinion on a candidate answer before it is accepted.

* ``judge``: a (cheap) model is asked whether the candidate is correct.
* ``command``: ``--verify-cmd CMD`` runs CMD (split like a shell would, but never through
  a shell, so model text is never interpolated) with the candidate answer on stdin and the
  extracted final answer in ``THINK_FINAL_ANSWER``; exit status 0 accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
from dataclasses import dataclass
from typing import Protocol

from think.calls import run_call
from think.errors import UsageError
from think.model_ref import ModelRef
from think.providers.base import Message
from think.strategies.base import RunContext
from think.strategies.sampling import Sample, request_for

VERIFY_STAGE = "verify"
JUDGE_SYSTEM = (
    "You check answers to questions. Work the problem out yourself, compare, and finish "
    "with exactly one line: VERDICT: correct, or VERDICT: incorrect."
)
VERDICT = re.compile(r"verdict\s*[:\-]?\s*\**\s*(correct|incorrect|yes|no)", re.IGNORECASE)


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
        return cls(argv, timeout)

    async def check(self, ctx: RunContext, candidate: Sample) -> Verdict:
        env = {
            **os.environ,
            "THINK_FINAL_ANSWER": candidate.answer.text if candidate.answer else "",
        }
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
            )
        except OSError as exc:
            raise UsageError(f"--verify-cmd cannot run {self.command[0]}: {exc.strerror}") from exc
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
