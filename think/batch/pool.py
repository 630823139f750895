"""Many queries at once: at most ``concurrency`` in flight, one budget over all of them.

Before a query starts it reserves its plan's worst case (with a margin for the instructions
strategies add to the prompt) from what the shared ``--max-cost`` has left, and runs capped
at that reservation; when it ends, what it actually cost replaces the reservation. A query
that does not fit stops the pool: it and every query after it are not sent, so the shared
cap is never exceeded. ``think eval`` and ``think batch`` both run their queries here.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from think import events
from think.budget import Budget, Reservation
from think.calls import PriceLookup, TierPriceLookup
from think.errors import BudgetExhausted, ExitCode, SpendingCapReached
from think.money import format_usd
from think.plan import price_plan
from think.providers.base import Provider
from think.run import Query, execute, messages_for, start_record

PLAN_MARGIN = Decimal("1.25")
"""Each run may spend up to its plan's worst case plus this margin (system instructions the
strategy adds are not in the plan's prompt count)."""

Begin = Callable[[Query], tuple[events.RunRecord, events.EventSink]]
"""Starts a run of the query (its cap decided): the run's start record and where its events
go. May refuse it with :class:`SpendingCapReached` (nothing is then sent)."""


@dataclass(frozen=True)
class Stop:
    """Why the pool stopped sending queries, and the exit code that says so."""

    reason: str
    exit_code: ExitCode


def _ignore(event: events.Event) -> None:
    return None


def unrecorded(query: Query) -> tuple[events.RunRecord, events.EventSink]:
    """A run whose events go nowhere (``think eval``: its results file is the record)."""
    return start_record(query), _ignore


async def run_all(work: Iterable[Awaitable[None]]) -> None:
    """Await every one of ``work`` concurrently; the first exception is raised once all
    have ended. Cancelled (Ctrl-C), each ends its own way before this does: a run in flight
    records its end (``asyncio.gather`` would end at the first task cancelled, and the
    runs still closing their connections would be cancelled again, left ``running``)."""
    outcomes = await asyncio.gather(*work, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
            raise outcome


class Pool:
    """Runs queries, ``concurrency`` at a time, within one ``max_cost`` (``None``: no cap).

    ``cap_each``: give every run its plan's worst case as its own cap even without a shared
    cap (under daily or monthly spending caps, a run without a cap would hold all they leave).
    ``tier_price`` prices what a provider served at a tier other than standard (flex, the
    batch API); without it such calls are priced at standard.
    """

    def __init__(
        self,
        price_for: PriceLookup,
        make_provider: Callable[[str], Provider],
        *,
        concurrency: int = 8,
        max_cost: Decimal | None = None,
        cap_each: bool = False,
        tier_price: TierPriceLookup | None = None,
    ) -> None:
        self.price_for = price_for
        self.tier_price = tier_price
        self.make_provider = make_provider
        self.budget = Budget(max_cost)
        self.cap_each = cap_each
        self.stopped: Stop | None = None
        self._gate = asyncio.Semaphore(max(concurrency, 1))

    def worst_case(self, query: Query) -> Decimal | None:
        """The most ``query`` may spend: its plan's worst case and the margin (``None``: a
        model's price is unknown)."""
        messages = messages_for(query.prompt, query.options.system)
        worst = price_plan(query.strategy.plan(query.options), messages, self.price_for).worst_usd
        return None if worst is None else worst * PLAN_MARGIN

    async def run(
        self, query: Query, label: str, begin: Begin = unrecorded
    ) -> events.RunRecord | None:
        """Run ``query`` when a place is free; ``None`` when the pool has stopped (the
        shared budget, or a spending cap, cannot afford it or an earlier query)."""
        async with self._gate:
            if self.stopped is not None:
                return None
            reservation = self._reserve(query, label)
            if self.stopped is not None:
                return None
            cap = reservation.amount if reservation is not None else None
            if cap is None and self.cap_each:
                cap = self.worst_case(query)
            query = dataclasses.replace(query, max_cost=cap)
            try:
                run, sink = begin(query)
            except SpendingCapReached as exc:
                self._release(reservation)
                self.stopped = Stop(str(exc), exc.exit_code)
                return None
            cost: Decimal | None = None
            try:
                run = await execute(
                    query, sink, self.price_for, self.make_provider, run, self.tier_price
                )
                cost = run.cost.usd if run.cost is not None else None
            finally:
                if reservation is not None:  # cancelled: it counts at its reservation
                    self.budget.settle(reservation, cost)
            return run

    def _reserve(self, query: Query, label: str) -> Reservation | None:
        if self.budget.cap is None:
            return None
        try:
            return self.budget.reserve(self.worst_case(query), label)
        except BudgetExhausted as exc:
            spent = f"{format_usd(self.budget.spent)} of {format_usd(self.budget.cap)} spent"
            reason = f"--max-cost: the next run does not fit ({spent}): {exc}"
            self.stopped = Stop(reason, ExitCode.BUDGET)
            return None

    def _release(self, reservation: Reservation | None) -> None:
        if reservation is not None:
            self.budget.settle(reservation, Decimal(0))  # nothing was sent
