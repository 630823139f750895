"""Run one provider call: reserve its worst case, stream it, meter it, record it.

Every call ends in exactly one :class:`~think.events.CallFinished` event, whatever happens
(success, provider error, cut stream, budget cut, cancellation), so the ledger holds one
record per call with the cost known so far.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from think import events
from think.budget import Budget, Reservation
from think.errors import BudgetExhausted, ProviderError, StreamCutError
from think.ids import call_id, utc_now
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
    UsageReported,
)
from think.tokens import ESTIMATE, TokenCount, count_messages, count_text, estimate_tokens
from think.usage import CallUsageSource, Usage, cost_anomaly, counts_anomaly, output_limit

MIN_OUTPUT_TOKENS = 16
"""A call that can afford fewer output tokens than this is not worth making."""
UNEXACT_INPUT_MARGIN = Decimal("1.25")
"""Safety factor on input counts that are estimates (another vendor's tokenizer)."""
OVERRUN_FACTOR = 2
"""A stream is ended once its output, counted here, passes this many times what the request
allowed (plus :data:`OVERRUN_SLACK`): the server ignores ``max_tokens``. The margin covers a
local count that is an estimate (UTF-8 bytes / 4) of another tokenizer's tokens."""
OVERRUN_SLACK = 256

PriceLookup = Callable[[ModelRef], ModelPrice | None]


@dataclass
class CallContext:
    """What every call of one run shares."""

    run_id: str
    emit: events.EventSink
    budget: Budget
    price_for: PriceLookup
    records: list[events.CallRecord] = field(default_factory=list)
    _seq: int = 0

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq


@dataclass
class CallOutcome:
    record: events.CallRecord
    error: Exception | None = None


def _affordable(
    budget: Budget,
    price: ModelPrice | None,
    input_tokens: int,
    request: ChatRequest,
    what: str,
    floor: int = 0,
) -> tuple[ChatRequest, Reservation]:
    """Reserve the call's worst case, shrinking its output limit to fit if needed, but not
    below ``floor`` (a reasoning request's provider would raise a smaller limit back)."""
    if price is None:
        return request, budget.reserve(None, what)
    worst = price.worst_case(input_tokens, request.max_tokens * request.n)
    if budget.fits(worst):
        return request, budget.reserve(worst, what)
    remaining = budget.remaining or Decimal(0)
    _, _, output_rate = price.per_mtok()
    input_cost = price.worst_case(input_tokens, 0)
    if output_rate > 0 and remaining > input_cost:
        per_choice = int((remaining - input_cost) * 1_000_000 / output_rate) // request.n
        while per_choice >= max(MIN_OUTPUT_TOKENS, floor):
            shrunk = dataclasses.replace(request, max_tokens=per_choice)
            worst = price.worst_case(input_tokens, per_choice * request.n)
            if budget.fits(worst):
                return shrunk, budget.reserve(worst, what)
            per_choice = per_choice * 9 // 10
    return request, budget.reserve(worst, what)  # raises BudgetExhausted with the numbers


def _input_tokens(ctx: CallContext, ref: ModelRef, request: ChatRequest) -> tuple[TokenCount, int]:
    """The request's input tokens as counted, and as reserved (with a margin when the count
    is an estimate)."""
    if ctx.budget.cap is not None:
        counted = count_messages(request.messages, ref.provider, ref.model)
    else:
        # No cap to enforce: a rough count serves the live cost until the provider reports
        # usage (loading a tokenizer costs ~0.2 s, so it is done only when needed).
        text = "".join(m.content for m in request.messages)
        counted = TokenCount(estimate_tokens(text) + 4 * len(request.messages), False, ESTIMATE)
    reserved = counted.tokens
    if not counted.exact:
        reserved = int(reserved * UNEXACT_INPUT_MARGIN) + 16
    return counted, reserved


async def run_call(
    ctx: CallContext,
    provider: Provider,
    ref: ModelRef,
    request: ChatRequest,
    stage: str,
) -> CallOutcome:
    """Make one call. Provider failures are returned in the outcome (the strategy decides
    what to do next); budget refusals raise :class:`BudgetExhausted` before anything is
    sent; cancellation propagates after the call has been recorded."""
    price = ctx.price_for(ref)
    counted, input_tokens = _input_tokens(ctx, ref, request)
    floor = provider.capabilities(ref.model).min_reasoning_max_tokens if request.effort else 0
    if request.max_tokens < floor:  # what the provider will send: reserve for that
        request = dataclasses.replace(request, max_tokens=floor)
    request, reservation = _affordable(ctx.budget, price, input_tokens, request, str(ref), floor)
    seq = ctx.next_seq()
    meter = _Meter(
        id=call_id(ctx.run_id, seq),
        n=request.n,
        price=price,
        input_tokens=counted.tokens,
        limit=reservation.amount if ctx.budget.cap is not None else None,
        max_output=request.max_tokens * request.n,
    )
    started_at = utc_now()
    in_flight = _in_flight(ctx, meter, ref, stage, seq, started_at, request, reservation)
    ctx.emit(
        events.CallStarted(
            meter.id,
            stage,
            str(ref),
            request.n,
            reservation.amount,
            priced=price is not None,
            in_flight=in_flight,
        )
    )
    _emit_budget(ctx)
    start = time.monotonic()
    status: events.CallStatus = "error"  # until the stream ends: a request never sent is no ok
    error: Exception | None = None
    try:
        await _consume(ctx, provider, ref, request, meter, start)
        status = "ok"
    except asyncio.CancelledError:
        status, error = "cancelled", None
        raise
    except StreamCutError as exc:
        status, error = "cut", exc
    except ProviderError as exc:
        status, error = "error", exc
        # Set when the request itself failed; an error after the response began keeps the
        # count its ResponseStarted reported.
        meter.attempts = max(meter.attempts, exc.attempts)
    except _BudgetCut:
        status = "budget"
        error = BudgetExhausted(f"{ref}: stream cut at the budget cap")
    except _Overrun:
        status = "error"
        error = ProviderError(
            f"{ref}: provider overrun: the server sent more than {meter.overrun_at} tokens "
            f"for max_tokens {meter.max_output}; the stream was ended"
        )
    except Exception as exc:  # not a provider's failure (a bug): recorded as one, then raised
        error = exc
        raise
    finally:
        record = _record(ctx, meter, ref, stage, seq, started_at, start, status, error, request)
        if (
            status == "budget"
            and record.anomaly is None
            and record.cost.usd is not None
            and meter.limit is not None
        ):
            # Cut within the output limit; the recount of the whole text may differ by a
            # token or so from the running count: the cut call is charged at most its
            # reservation. (A server that sent past the limit is charged what it sent.)
            record = dataclasses.replace(
                record, cost=Cost(min(record.cost.usd, meter.limit), record.cost.source)
            )
        ctx.budget.settle(reservation, record.cost.usd)
        ctx.records.append(record)
        ctx.emit(events.CallFinished(record))
        _emit_budget(ctx)
    return CallOutcome(record, error)


IN_FLIGHT_ERROR = "in flight: charged its worst case until it ends"


def _in_flight(
    ctx: CallContext,
    meter: _Meter,
    ref: ModelRef,
    stage: str,
    seq: int,
    started_at: str,
    request: ChatRequest,
    reservation: Reservation,
) -> events.CallRecord:
    """The call as the ledger holds it while it runs: charged its reservation (its worst
    case), so a process killed mid-call (SIGKILL) still counts it; its end replaces it."""
    cost = Cost(reservation.amount, "estimated") if meter.price is not None else Cost.unknown()
    return events.CallRecord(
        id=meter.id,
        run_id=ctx.run_id,
        seq=seq,
        stage=stage,
        provider=ref.provider,
        model=ref.model,
        started_at=started_at,
        status="running",
        latency_ms=0,
        ttft_ms=None,
        n=request.n,
        texts=("",) * request.n,
        reasoning="",
        finish_reasons=(None,) * request.n,
        usage=Usage(input_tokens=meter.input_tokens),
        usage_source="unknown",
        cost=cost,
        attempts=1,
        error=IN_FLIGHT_ERROR,
    )


def _emit_budget(ctx: CallContext) -> None:
    ctx.emit(events.BudgetUpdate(ctx.budget.spent, ctx.budget.reserved, ctx.budget.cap))


class _BudgetCut(Exception):
    pass


class _Overrun(Exception):
    """The server streamed far past the request's output limit."""


@dataclass
class _Meter:
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


async def _consume(
    ctx: CallContext,
    provider: Provider,
    ref: ModelRef,
    request: ChatRequest,
    meter: _Meter,
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
                ctx.emit(events.AnswerText(meter.id, item.text, item.index))
            else:
                meter.reasoning.append(item.text)
                ctx.emit(events.ReasoningText(meter.id, item.text, item.index))
            ctx.emit(events.CallProgress(meter.id, meter.streamed_tokens, running))
            if meter.limit is not None and running is not None and running > meter.limit:
                raise _BudgetCut
            if meter.streamed_tokens > meter.overrun_at:
                raise _Overrun
        elif isinstance(item, ChoiceFinished):
            meter.finish[item.index] = item.reason
        elif isinstance(item, UsageReported):
            meter.usage = item.usage


def _record(
    ctx: CallContext,
    meter: _Meter,
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
        usage, wrong = _vet_cost(usage, meter)
        if wrong is not None:
            anomalies.append(wrong)
            reported = reported or meter.usage
        cost = call_cost(meter.price, usage)
    return events.CallRecord(
        id=meter.id,
        run_id=ctx.run_id,
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
    )


def _vet_cost(usage: Usage, meter: _Meter) -> tuple[Usage, str | None]:
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
