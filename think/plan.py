"""``--dry-run``: what a query could cost at worst and is expected to cost, spending nothing.

Each strategy lists its possible calls (:class:`PlanStep`). Worst case: every call made, each
with the prompt's counted input tokens and its full output limit, at list prices (the same
bound the budget governor reserves). Expected: the calls a typical run makes
(``expected_calls``), each writing ``EXPECTED_OUTPUT_SHARE`` of its output limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from think.calls import PriceLookup
from think.model_ref import ModelRef
from think.pricing import ModelPrice
from think.providers.base import Message
from think.tokens import count_messages

EXPECTED_OUTPUT_SHARE = Decimal("0.25")


@dataclass(frozen=True)
class PlanStep:
    stage: str
    model: ModelRef
    max_calls: int
    expected_calls: float
    max_tokens: int


@dataclass(frozen=True)
class PricedStep:
    step: PlanStep
    worst_usd: Decimal | None
    expected_usd: Decimal | None
    tier: str | None = None
    """The service tiers the step's calls ask for (``flex,standard``), when any."""


@dataclass(frozen=True)
class StepPrices:
    """A step's prices at its service tier: ``worst`` bounds what a call may be billed
    (reserved at), ``expected`` is the tier's own price."""

    worst: ModelPrice | None
    expected: ModelPrice | None
    tier: str | None = None


StepPricing = Callable[[PlanStep], StepPrices]


@dataclass(frozen=True)
class Plan:
    steps: tuple[PricedStep, ...]
    input_tokens: int
    input_exact: bool

    @property
    def worst_usd(self) -> Decimal | None:
        return _total([s.worst_usd for s in self.steps])

    @property
    def expected_usd(self) -> Decimal | None:
        return _total([s.expected_usd for s in self.steps])


def _total(values: list[Decimal | None]) -> Decimal | None:
    """The sum, or None (unknown) when any part is unknown."""
    known = [v for v in values if v is not None]
    return sum(known, Decimal(0)) if len(known) == len(values) else None


def price_plan(
    steps: list[PlanStep],
    messages: tuple[Message, ...],
    price_for: PriceLookup,
    tiers: StepPricing | None = None,
) -> Plan:
    """The plan's cost bounds; ``tiers`` prices each step at its service tier."""
    from think.usage import Usage

    priced: list[PricedStep] = []
    tokens, exact = 0, True
    for step in steps:
        counted = count_messages(messages, step.model.provider, step.model.model)
        tokens, exact = max(tokens, counted.tokens), exact and counted.exact
        standard = price_for(step.model)
        prices = tiers(step) if tiers is not None else StepPrices(standard, standard)
        price, typical = prices.worst, prices.expected or prices.worst
        if price is None or typical is None:
            priced.append(PricedStep(step, None, None, prices.tier))
            continue
        worst = price.worst_case(counted.tokens, step.max_tokens) * step.max_calls
        expected_output = int(step.max_tokens * EXPECTED_OUTPUT_SHARE)
        one = typical.cost(Usage(input_tokens=counted.tokens, output_tokens=expected_output))
        expected = one * Decimal(str(step.expected_calls))
        priced.append(PricedStep(step, worst, expected, prices.tier))
    return Plan(tuple(priced), tokens, exact)
