"""Metering one provider call as it streams, and its record when it ends: the running
cost (a stream is cut at the reservation), the overrun guard, the served tier, and the
counts and cost the ledger keeps (believed, or counted here)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from think import events
from think.model_ref import ModelRef
from think.money import format_usd
from think.pricing import Cost, ModelPrice, call_cost
from think.providers.base import (
    ChatRequest,
    ChoiceFinished,
    Provider,
    ReasoningDelta,
    ResponseStarted,
    TextDelta,
    TierServed,
    UsageReported,
)
from think.tiers import STANDARD
from think.tokens import count_messages, count_text, estimate_tokens
from think.usage import CallUsageSource, Usage, cost_anomaly, counts_anomaly, output_limit

TierPrice = Callable[[str], ModelPrice | None]

OVERRUN_FACTOR = 2
"""A stream is ended once its output, counted here, passes this many times what the request
allowed (plus :data:`OVERRUN_SLACK`): the server ignores ``max_tokens``. The margin covers a
local count that is an estimate (UTF-8 bytes / 4) of another tokenizer's tokens."""
OVERRUN_SLACK = 256


class BudgetCut(Exception):
    pass


class Overrun(Exception):
    """The server streamed far past the request's output limit."""


@dataclass
class Meter:
    id: str
    n: int
    price: ModelPrice | None
    input_tokens: int
    limit: Decimal | None
    max_output: int
    """``max_tokens × n``: the output the request allows."""
    texts: dict[int, list[str]] = field(default_factory=dict)
    reasoning: list[str] = field(default_factory=list)
    finish: dict[int, str] = field(default_factory=dict)
    usage: Usage | None = None
    ttft: float | None = None
    attempts: int = 1
    responded: bool = False
    """The provider accepted the request (its response began)."""
    streamed_chars: int = 0
    streamed_tokens: int = 0
    """Output tokens streamed so far, counted delta by delta with the model's tokenizer."""
    standard: ModelPrice | None = None
    """The model's standard price (``price`` is the reservation's: the dearer of the tier
    asked for and standard, which the provider may serve instead)."""
    tier_price: TierPrice | None = None
    served_tier: str | None = None
    tier_note: str | None = None

    def billed_price(self, ref: ModelRef) -> ModelPrice | None:
        """The price of the tier the provider served; not said: the reservation's price
        (the dearest the call could be billed); a served tier without a known price: the
        standard price, and :attr:`tier_note` says so."""
        served = self.served_tier
        if served is None:
            return self.price
        if served == STANDARD:
            return self.standard
        found = self.tier_price(served) if self.tier_price is not None else None
        if found is None:
            self.tier_note = (
                f"warning: {ref}: served at the {served} tier, whose price is unknown: "
                "priced at standard"
            )
            return self.standard
        return found

    @property
    def overrun_at(self) -> int:
        return OVERRUN_FACTOR * self.max_output + OVERRUN_SLACK

    @property
    def overran(self) -> bool:
        return self.streamed_tokens > self.max_output

    def running_cost(self, output_tokens: int) -> Decimal | None:
        if self.price is None:
            return None
        return self.price.cost(Usage(input_tokens=self.input_tokens, output_tokens=output_tokens))


async def consume(
    emit: events.EventSink,
    provider: Provider,
    ref: ModelRef,
    request: ChatRequest,
    meter: Meter,
    start: float,
) -> None:
    async for item in provider.stream(request):
        if isinstance(item, ResponseStarted):
            meter.attempts = item.attempts
            meter.responded = True
        elif isinstance(item, (TextDelta, ReasoningDelta)):
            if meter.ttft is None:
                meter.ttft = time.monotonic() - start
            if meter.limit is not None:  # a cap to enforce: count exactly
                tokens = max(1, count_text(item.text, ref.provider, ref.model).tokens)
            else:  # only the live view uses it; spare loading a tokenizer
                tokens = max(1, estimate_tokens(item.text))
            running = meter.running_cost(meter.streamed_tokens + tokens)
            # Text received is text billed: the delta that passes the reservation (or the
            # output limit) is kept and counted before the stream is ended.
            meter.streamed_chars += len(item.text)
            meter.streamed_tokens += tokens
            if isinstance(item, TextDelta):
                meter.texts.setdefault(item.index, []).append(item.text)
                emit(events.AnswerText(meter.id, item.text, item.index))
            else:
                meter.reasoning.append(item.text)
                emit(events.ReasoningText(meter.id, item.text, item.index))
            emit(events.CallProgress(meter.id, meter.streamed_tokens, running))
            if meter.limit is not None and running is not None and running > meter.limit:
                raise BudgetCut
            if meter.streamed_tokens > meter.overrun_at:
                raise Overrun
        elif isinstance(item, ChoiceFinished):
            meter.finish[item.index] = item.reason
        elif isinstance(item, UsageReported):
            meter.usage = item.usage
        elif isinstance(item, TierServed):
            meter.served_tier = item.tier


def build_record(
    run_id: str,
    meter: Meter,
    ref: ModelRef,
    stage: str,
    seq: int,
    started_at: str,
    start: float,
    status: events.CallStatus,
    error: Exception | None,
    request: ChatRequest,
) -> events.CallRecord:
    texts = tuple("".join(meter.texts.get(i, [])) for i in range(request.n))
    reasoning = "".join(meter.reasoning)
    usage = meter.usage
    reported: Usage | None = None
    anomalies: list[str] = []
    if usage is not None and status == "ok":
        limit = output_limit(request.max_tokens, request.n)
        wrong = counts_anomaly(usage, max_output=limit, input_tokens=meter.input_tokens)
        if wrong is not None:  # the counts are not believed: those counted here are
            anomalies.append(wrong)
            reported, usage = usage, None
    elif (status == "budget" and meter.overran) or meter.streamed_tokens > meter.overrun_at:
        anomalies.append(
            f"about {meter.streamed_tokens} output tokens sent for max_tokens "
            f"{meter.max_output} (the server overran)"
        )
    usage_source: CallUsageSource
    if usage is not None:
        usage_source = usage.source
    else:
        output = count_text("".join(texts) + reasoning, ref.provider, ref.model).tokens
        prompt = count_messages(request.messages, ref.provider, ref.model).tokens
        usage = Usage(input_tokens=prompt, output_tokens=output, source="estimated")
        usage_source = "estimated" if status == "ok" else "unknown"
    if status == "error" and not meter.responded:
        # Refused before any response (an HTTP error, no connection): nothing is billed,
        # whether or not the price is known.
        cost = Cost(Decimal(0), "computed")
    elif status == "error" and not meter.streamed_chars and meter.usage is None:
        # Nothing was generated: a failed request costs nothing.
        cost = Cost(Decimal(0), "estimated") if meter.price is not None else Cost(None, "unknown")
    else:
        usage, wrong = vet_cost(usage, meter)
        if wrong is not None:
            anomalies.append(wrong)
            reported = reported or meter.usage
        cost = call_cost(meter.billed_price(ref), usage)
    return events.CallRecord(
        id=meter.id,
        run_id=run_id,
        seq=seq,
        stage=stage,
        provider=ref.provider,
        model=ref.model,
        started_at=started_at,
        status=status,
        latency_ms=int((time.monotonic() - start) * 1000),
        ttft_ms=None if meter.ttft is None else int(meter.ttft * 1000),
        n=request.n,
        texts=texts,
        reasoning=reasoning,
        finish_reasons=tuple(meter.finish.get(i) for i in range(request.n)),
        usage=usage,
        usage_source=usage_source,
        cost=cost,
        attempts=meter.attempts,
        error=None if error is None else str(error),
        anomaly="; ".join(anomalies) or None,
        reported_usage=reported,
        requested_tier=request.service_tier,
        served_tier=meter.served_tier,
        tier_note=meter.tier_note,
    )


def vet_cost(usage: Usage, meter: Meter) -> tuple[Usage, str | None]:
    """``usage`` without its reported cost when that cost cannot be believed (then the
    price's count stands), and why."""
    cost = usage.reported_cost_usd
    if cost is None:
        return usage, None
    estimate = meter.price.cost(usage) if meter.price is not None else None
    wrong = cost_anomaly(cost, estimate, usage.input_tokens + usage.output_tokens)
    if wrong is None and meter.limit is not None and cost > meter.limit:
        wrong = f"a reported cost of {format_usd(cost, exact=True)} above the call's reservation"
    if wrong is None:
        return usage, None
    return dataclasses.replace(usage, reported_cost_usd=None), wrong
