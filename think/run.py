"""Execute one query: set up the run, drive the strategy, and always finish the record.

Failed, budget-limited and cancelled runs end in a :class:`~think.events.RunFinished` event
just like successful ones, so every consumer (ledger, display, ``--json``) sees the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from think import events
from think.budget import Budget
from think.calls import CallContext, PriceLookup, TierPriceLookup
from think.errors import BudgetExhausted, ExitCode, ThinkError
from think.ids import new_run_id, utc_now
from think.model_ref import ModelRef
from think.pricing import Cost
from think.providers.base import Message, Provider
from think.strategies.base import QueryOptions, RunContext, Strategy, StrategyResult
from think.tiers import TierPolicy
from think.usage import Usage


@dataclass(frozen=True)
class Query:
    prompt: str
    strategy: Strategy
    options: QueryOptions
    max_cost: Decimal | None
    fingerprint: str | None = None
    """What shapes the answer, hashed (:func:`think.ledger.reuse.fingerprint`)."""
    tiers: TierPolicy = field(default_factory=TierPolicy)
    """The service tiers each role's calls ask for (:mod:`think.tiers`)."""


def messages_for(prompt: str, system: str | None) -> tuple[Message, ...]:
    if system:
        return (Message("system", system), Message("user", prompt))
    return (Message("user", prompt),)


def total_cost(records: list[events.CallRecord]) -> Cost:
    """The run's cost: unknown if any call's cost is unknown, never a guessed $0."""
    if not records:
        return Cost(Decimal(0), "computed")
    if any(r.cost.usd is None for r in records):
        return Cost(None, "unknown")
    usd = sum((r.cost.usd for r in records if r.cost.usd is not None), Decimal(0))
    sources = {r.cost.source for r in records}
    if sources == {"reported"}:
        return Cost(usd, "reported")
    return Cost(usd, "estimated" if "estimated" in sources else "computed")


def total_usage(records: list[events.CallRecord]) -> Usage:
    usage = Usage()
    for record in records:
        usage = usage + dataclasses.replace(record.usage, reported_cost_usd=None)
    return usage


SIGNAL_CANCEL = "ended by signal "
"""How a cancellation caused by a signal says which (see :mod:`think.cli.signals`)."""


def cancel_message(signum: int) -> str:
    """The message of a cancellation caused by signal ``signum``."""
    return f"{SIGNAL_CANCEL}{signum}"


def cancelled_exit_code(exc: asyncio.CancelledError) -> int:
    """128 + N for a run cancelled by signal N (SIGTERM 143, SIGHUP 129), else 130: Ctrl-C."""
    message = exc.args[0] if exc.args else None
    if isinstance(message, str) and message.startswith(SIGNAL_CANCEL):
        number = message.removeprefix(SIGNAL_CANCEL)
        if number.isdigit():
            return 128 + int(number)
    return int(ExitCode.INTERRUPTED)


def exit_code_for(status: events.RunStatus, error: ThinkError | None) -> ExitCode:
    if status == "ok":
        return ExitCode.OK
    if status == "budget_exhausted":
        return ExitCode.BUDGET
    if status == "cancelled":
        return ExitCode.INTERRUPTED
    return error.exit_code if error is not None else ExitCode.INTERNAL


def start_record(query: Query) -> events.RunRecord:
    """The record of a run that starts now (a new id, status ``running``)."""
    return events.RunRecord(
        id=new_run_id(),
        started_at=utc_now(),
        prompt=query.prompt,
        strategy=query.strategy.name,
        status="running",
        models=tuple(str(m) for m in query.strategy.models),
        max_cost_usd=query.max_cost,
        fingerprint=query.fingerprint,
    )


async def execute(
    query: Query,
    emit: events.EventSink,
    price_for: PriceLookup,
    make_provider: Callable[[str], Provider],
    run: events.RunRecord | None = None,
    tier_price: TierPriceLookup | None = None,
) -> events.RunRecord:
    """Run the query to its end; ``run`` is its start record when made beforehand (a
    spending-cap reservation), else one is made now. Its ``max_cost_usd`` is the cap.
    ``tier_price`` prices the service tiers other than standard (unknown without it)."""
    run = run or start_record(query)
    run_id = run.id
    emit(events.RunStarted(run))
    start = time.monotonic()
    providers: dict[str, Provider] = {}

    def provider_for(ref: ModelRef) -> Provider:
        if ref.provider not in providers:
            providers[ref.provider] = make_provider(ref.provider)
        return providers[ref.provider]

    calls = CallContext(run_id, emit, Budget(run.max_cost_usd), price_for, tiers=query.tiers)
    if tier_price is not None:
        calls.tier_price = tier_price
    ctx = RunContext(
        calls, messages_for(query.prompt, query.options.system), query.options, provider_for
    )
    result = StrategyResult("error")
    cancelled_code: int | None = None
    try:
        result = await query.strategy.run(ctx)
    except BudgetExhausted as exc:
        result = StrategyResult("budget_exhausted", error=exc)
    except ThinkError as exc:
        result = StrategyResult("error", error=exc)
    except asyncio.CancelledError as exc:
        result = StrategyResult("cancelled")
        cancelled_code = cancelled_exit_code(exc)
        raise
    finally:
        for provider in providers.values():
            await asyncio.shield(provider.aclose())
        finished = dataclasses.replace(
            run,
            status=result.status,
            finished_at=utc_now(),
            duration_ms=int((time.monotonic() - start) * 1000),
            answer=result.answer,
            answer_model=result.answer_model,
            error=None if result.error is None else str(result.error),
            exit_code=cancelled_code or int(exit_code_for(result.status, result.error)),
            cost=total_cost(calls.records),
            usage=total_usage(calls.records),
            calls=len(calls.records),
            final_answer=result.final_answer,
            votes=result.votes,
            agreement=result.agreement,
            escalated=result.escalated,
            escalation_reason=result.escalation_reason,
            strong_only_cost_usd=result.strong_only_cost_usd,
            stages=tuple(result.stages),
            answer_shape=result.answer_shape,
            verdict=result.verdict,
            p_accept=result.p_accept,
        )
        emit(events.RunFinished(finished))
    return finished
