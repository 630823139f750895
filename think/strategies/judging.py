"""The open-ended gate: a judge grades one free-form answer against a rubric.

Several verdicts are sampled (one request with ``n`` where the server supports it, else
concurrent requests) and their share of PASS is the probability that the answer is good
enough, as in AutoMix's few-shot self-verification; the cascade accepts the answer when that
probability reaches its threshold. A verdict that cannot be read counts as FAIL, and a judge
call that fails leaves the answer unverified (never accepted).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from think.calls import run_call
from think.errors import BudgetExhausted
from think.model_ref import ModelRef
from think.providers.base import Message, split_for
from think.strategies.base import RunContext
from think.strategies.sampling import request_for
from think.strategies.verifiers import VERIFY_STAGE

JUDGE_SAMPLES = 3
"""Verdicts sampled per judged answer."""
ACCEPT_THRESHOLD = 0.66
"""Accept when at least this share of the verdicts pass (2 of 3 by default)."""
JUDGE_MAX_TOKENS = 400
"""A verdict is a short critique and one line; longer output is cut here."""
JUDGE_TEMPERATURE = 0.7
RUBRIC = (
    "You grade an answer to a task. Check that it is correct, complete and does what the task "
    "asks, in the form it asks for. For a proof, every step must be valid; for code, it must "
    "run and do what was asked; for a summary or a review, it must be faithful to the text it "
    "is given. Be strict: an answer with an error fails. Write at most three sentences of "
    "critique, then exactly one final line: VERDICT: PASS or VERDICT: FAIL."
)
VERDICT_RE = re.compile(r"verdict\s*[:\-]?\s*\**\s*(pass|fail)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Judgement:
    p_accept: float
    """The share of verdicts that passed (0 when the judge could not be asked)."""
    verdicts: tuple[str | None, ...]
    """Each verdict: ``pass``, ``fail`` or ``None`` (unreadable or a failed call)."""
    critique: str
    """The first failing verdict's text (else the first verdict's), for the record."""
    error: str | None = None

    def passed(self, threshold: float) -> bool:
        return self.error is None and self.p_accept >= threshold

    def describe(self, threshold: float) -> str:
        if self.error is not None:
            return f"judge failed: {self.error}"
        shown = sum(v == "pass" for v in self.verdicts)
        sign = "≥" if self.p_accept >= threshold else "<"
        total = len(self.verdicts)
        said = f"{shown}/{total} verdicts pass, p={self.p_accept:.2f} {sign} {threshold:.2f}"
        unreadable = sum(v is None for v in self.verdicts)
        if unreadable == total:  # a judge that cannot follow the rubric: say so, not "fail"
            return f"{said}: the judge wrote no readable VERDICT line (a weak --judge?)"
        if unreadable:
            return f"{said} ({unreadable} unreadable, counted as FAIL)"
        return said


def read_verdict(text: str) -> str | None:
    found = VERDICT_RE.findall(text)
    return found[-1].lower() if found else None


async def judge_answer(
    ctx: RunContext, model: ModelRef, answer: str, *, samples: int = JUDGE_SAMPLES
) -> Judgement:
    """Grade ``answer`` to the run's task with ``samples`` verdicts from ``model``.

    Raises :class:`BudgetExhausted` only when not one verdict could be afforded.
    """
    messages = (
        Message("system", RUBRIC),
        Message("user", f"Task:\n{ctx.prompt}\n\nAnswer:\n{answer}"),
    )
    request = request_for(
        ctx,
        model,
        n=samples,
        messages=messages,
        temperature=JUDGE_TEMPERATURE if samples > 1 else 0.0,
        max_tokens=min(ctx.options.max_tokens, JUDGE_MAX_TOKENS),
    )
    provider = ctx.provider_for(model)
    parts = split_for(request, provider.capabilities(model.model))
    outcomes = await asyncio.gather(
        *(run_call(ctx.calls, provider, model, part, VERIFY_STAGE) for part in parts),
        return_exceptions=True,
    )
    verdicts: list[str | None] = []
    texts: list[str] = []
    errors: list[str] = []
    refused: BudgetExhausted | None = None
    for outcome in outcomes:
        if isinstance(outcome, BudgetExhausted):
            refused = outcome
            continue
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome.error is not None:
            errors.append(str(outcome.error))
            continue
        for text in outcome.record.texts or ("",):
            texts.append(text)
            verdicts.append(read_verdict(text))
    if not verdicts:
        if refused is not None and not errors:
            raise refused
        return Judgement(0.0, (), "", errors[0] if errors else "no verdict")
    passes = sum(v == "pass" for v in verdicts)
    failing = [t for t, v in zip(texts, verdicts, strict=True) if v != "pass"]
    critique = (failing or texts)[0].strip()
    return Judgement(passes / len(verdicts), tuple(verdicts), critique)
