"""Drawing samples: concurrent calls, each answer extracted and announced as it lands."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from think import events
from think.calls import CallOutcome, run_call
from think.errors import BudgetExhausted
from think.model_ref import ModelRef
from think.providers.base import ChatRequest, Effort, Message, split_for
from think.strategies.answers import AUTO, Extracted, extract_answer
from think.strategies.base import RunContext
from think.strategies.tally import Tally

DEFAULT_SAMPLE_TEMPERATURE = 0.7


@dataclass(frozen=True)
class Sample:
    call: events.CallRecord
    text: str
    answer: Extracted | None
    error: Exception | None


def request_for(
    ctx: RunContext,
    ref: ModelRef,
    *,
    n: int = 1,
    temperature: float | None = None,
    messages: tuple[Message, ...] | None = None,
    max_tokens: int | None = None,
    effort: Effort | None = None,
) -> ChatRequest:
    return ChatRequest(
        model=ref.model,
        messages=messages or ctx.messages,
        max_tokens=max_tokens or ctx.options.max_tokens,
        temperature=temperature,
        n=n,
        effort=effort,
    )


def extract(ctx: RunContext, text: str) -> Extracted | None:
    options = ctx.options.choices or None
    fmt = ctx.options.answer_format or AUTO
    return extract_answer(text, fmt, options=options)


async def draw(
    ctx: RunContext,
    ref: ModelRef,
    count: int,
    *,
    stage: str,
    tally: Tally,
    temperature: float | None = None,
) -> list[Sample]:
    """Draw ``count`` samples concurrently (one request with ``n`` where the server supports
    it), add each extracted answer to ``tally`` and emit a vote as each call lands.

    Raises :class:`BudgetExhausted` only when not a single sample could be afforded.
    """
    provider = ctx.provider_for(ref)
    if temperature is None:
        temperature = ctx.options.temperature
        if temperature is None and count > 1:
            temperature = DEFAULT_SAMPLE_TEMPERATURE
    request = request_for(ctx, ref, n=count, temperature=temperature)
    samples: list[Sample] = []

    async def one(part: ChatRequest) -> None:
        outcome = await run_call(ctx.calls, provider, ref, part, stage)
        for text in _texts(outcome):
            answer = extract(ctx, text) if outcome.error is None else None
            samples.append(Sample(outcome.record, text, answer, outcome.error))
            tally.add(answer.key if answer else None)
            ctx.calls.emit(
                events.VoteCast(
                    outcome.record.id,
                    str(ref),
                    answer.key if answer else None,
                    dict(tally.counts),
                    tally.agreement(),
                )
            )

    parts = split_for(request, provider.capabilities(ref.model))
    results = await asyncio.gather(*(one(p) for p in parts), return_exceptions=True)
    refused = [r for r in results if isinstance(r, BudgetExhausted)]
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, BudgetExhausted):
            raise result
    if refused and not samples:
        raise refused[0]
    return samples


def _texts(outcome: CallOutcome) -> list[str]:
    record = outcome.record
    return list(record.texts) if record.texts else [""]


def first_for(samples: list[Sample], key: str | None) -> Sample | None:
    """The first sample that voted for ``key``."""
    for sample in samples:
        if sample.answer is not None and sample.answer.key == key:
            return sample
    return None


def with_effort(request: ChatRequest, effort: Effort) -> ChatRequest:
    return dataclasses.replace(request, effort=effort)
