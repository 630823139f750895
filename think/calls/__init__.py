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
from think.calls.metering import BudgetCut, Meter, Overrun, build_record, consume
from think.errors import BudgetExhausted, ProviderError, StreamCutError
from think.ids import call_id, utc_now
from think.model_ref import ModelRef
from think.pricing import Cost, ModelPrice
from think.providers.base import (
    ChatRequest,
    Provider,
)
from think.tiers import STANDARD, TierPolicy
from think.tiers.prices import reservation_price
from think.tokens import ESTIMATE, TokenCount, count_messages, estimate_tokens
from think.usage import Usage

MIN_OUTPUT_TOKENS = 16
"""A call that can afford fewer output tokens than this is not worth making."""
UNEXACT_INPUT_MARGIN = Decimal("1.25")
"""Safety factor on input counts that are estimates (another vendor's tokenizer)."""

PriceLookup = Callable[[ModelRef], ModelPrice | None]
TierPriceLookup = Callable[[ModelRef, str], ModelPrice | None]
"""A model's price at a service tier other than standard; None: unknown."""


def _no_tier_prices(ref: ModelRef, tier: str) -> ModelPrice | None:
    return None


@dataclass
class CallContext:
    """What every call of one run shares."""

    run_id: str
    emit: events.EventSink
    budget: Budget
    price_for: PriceLookup
    records: list[events.CallRecord] = field(default_factory=list)
    _seq: int = 0
    tiers: TierPolicy = field(default_factory=TierPolicy)
    tier_price: TierPriceLookup = _no_tier_prices

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
    sent; cancellation propagates after the call has been recorded.

    With service tiers for the stage (:class:`~think.tiers.TierPolicy`) the call asks for
    the first; when that tier has no capacity (flex's 429 Resource Unavailable) and the
    policy lists another, the refused attempt is recorded as its own call ($0: it is not
    billed) and the next tier is asked, reserved like any call."""
    tiers = ctx.tiers.for_stage(stage)
    if not tiers:
        return await _one_call(ctx, provider, ref, request, stage)
    for number, tier in enumerate(tiers, start=1):
        last = number == len(tiers)
        asked = dataclasses.replace(request, service_tier=tier, tier_fallback=not last)
        outcome = await _one_call(ctx, provider, ref, asked, stage)
        error = outcome.error
        if not (isinstance(error, ProviderError) and error.tier_unavailable):
            return outcome
        if last:
            if tier != STANDARD and len(tiers) == 1:
                error.args = (
                    f"{error.args[0]} ({tier} has no capacity now; --tier {tier},standard "
                    "falls back to standard)",
                )
            return outcome
    raise AssertionError("unreachable")  # pragma: no cover


def _reservation_price(
    ctx: CallContext, ref: ModelRef, tier: str | None, standard: ModelPrice | None
) -> ModelPrice | None:
    """What a call asking for ``tier`` is reserved at (:func:`reservation_price`)."""
    if tier is None or tier == STANDARD or standard is None:
        return standard
    return reservation_price(standard, ctx.tier_price(ref, tier))


async def _one_call(
    ctx: CallContext,
    provider: Provider,
    ref: ModelRef,
    request: ChatRequest,
    stage: str,
) -> CallOutcome:
    standard = ctx.price_for(ref)
    price = _reservation_price(ctx, ref, request.service_tier, standard)
    counted, input_tokens = _input_tokens(ctx, ref, request)
    floor = provider.capabilities(ref.model).min_reasoning_max_tokens if request.effort else 0
    if request.max_tokens < floor:  # what the provider will send: reserve for that
        request = dataclasses.replace(request, max_tokens=floor)
    request, reservation = _affordable(ctx.budget, price, input_tokens, request, str(ref), floor)
    seq = ctx.next_seq()
    meter = Meter(
        id=call_id(ctx.run_id, seq),
        n=request.n,
        price=price,
        input_tokens=counted.tokens,
        limit=reservation.amount if ctx.budget.cap is not None else None,
        max_output=request.max_tokens * request.n,
        standard=standard,
        tier_price=lambda tier: ctx.tier_price(ref, tier),
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
        await consume(ctx.emit, provider, ref, request, meter, start)
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
    except BudgetCut:
        status = "budget"
        error = BudgetExhausted(f"{ref}: stream cut at the budget cap")
    except Overrun:
        status = "error"
        error = ProviderError(
            f"{ref}: provider overrun: the server sent more than {meter.overrun_at} tokens "
            f"for max_tokens {meter.max_output}; the stream was ended"
        )
    except Exception as exc:  # not a provider's failure (a bug): recorded as one, then raised
        error = exc
        raise
    finally:
        record = build_record(
            ctx.run_id, meter, ref, stage, seq, started_at, start, status, error, request
        )
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
    meter: Meter,
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
