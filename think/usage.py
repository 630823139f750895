"""Token usage of one provider call, in genai-prices' semantics.

``input_tokens`` is the whole prompt (cache reads and writes included) and ``output_tokens``
all generated tokens (reasoning included); the detail fields are subsets of those totals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from think.money import format_usd

UsageSource = Literal["reported", "estimated"]
"""Where a usage's counts come from: the provider's report, or counted here."""
CallUsageSource = Literal[UsageSource, "unknown"]
"""A recorded call's usage source: also ``unknown`` (a failed call whose usage never came)."""


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    """Prompt tokens read from the provider's cache (billed at the cache-read rate)."""
    cache_write_tokens: int = 0
    """Prompt tokens written to the provider's cache (billed at the cache-write rate)."""
    cache_write_1h_tokens: int = 0
    """Of ``cache_write_tokens``, those written with a one-hour lifetime (Anthropic bills them
    at twice the input rate, the default five-minute writes at 1.25 times)."""
    source: UsageSource = "reported"
    reported_cost_usd: Decimal | None = None

    def __add__(self, other: Usage) -> Usage:
        if self.reported_cost_usd is None or other.reported_cost_usd is None:
            cost = None
        else:
            cost = self.reported_cost_usd + other.reported_cost_usd
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens + other.cache_write_1h_tokens,
            source="reported" if self.source == other.source == "reported" else "estimated",
            reported_cost_usd=cost,
        )


# --------------------------------------------------------------------------------------------
# Untrusted numbers: what a provider reports is checked before it counts

MAX_COUNT = 10**9
"""No call reads or writes a billion tokens: a larger count is not a token count."""
UNREADABLE = -1
"""What a parser stores for a count that is not a number (a string, NaN, infinity): like a
negative count, :func:`vet` refuses it."""
OUTPUT_SLACK = 64
"""Reported output may pass ``max_tokens × n`` by this many tokens (a tokenizer's rounding)."""
MAX_RATE_USD = Decimal("0.001")
"""No model costs more than $1,000 per million tokens: the ceiling of a reported cost when the
price is not known."""
COST_FACTOR = 2
"""A reported cost above twice the local estimate (genai-prices' price) is not believed."""


def count_value(value: object) -> int:
    """A token count from a usage object: 0 when absent, :data:`UNREADABLE` when not a finite
    number (``bool`` is not a number here); negative and huge numbers are kept for :func:`vet`."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return UNREADABLE
    if isinstance(value, float) and not math.isfinite(value):
        return UNREADABLE
    return int(value)


def total(*counts: int) -> int:
    """The sum of counts read by :func:`count_value`: unreadable if one of them is."""
    return UNREADABLE if any(c < 0 for c in counts) else sum(counts)


def reported_cost(value: object) -> Decimal | None:
    """A reported cost (OpenRouter's ``usage.cost``) as a Decimal, None when absent or not a
    number. NaN, infinities and negative values are kept, for :func:`vet` to refuse."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal("NaN")


def output_limit(max_tokens: int, n: int) -> int:
    """The most output a request with this ``max_tokens`` may report (reasoning included: the
    strategies raise ``max_tokens`` for reasoning mode before the request is sent)."""
    return max_tokens * n + OUTPUT_SLACK


def _counts(usage: Usage) -> tuple[int, ...]:
    return (
        usage.input_tokens,
        usage.output_tokens,
        usage.reasoning_tokens,
        usage.cached_tokens,
        usage.cache_write_tokens,
        usage.cache_write_1h_tokens,
    )


def counts_anomaly(usage: Usage, *, max_output: int, input_tokens: int) -> str | None:
    """Why the counts of a reported usage cannot be believed, or None.

    ``max_output`` is :func:`output_limit` of the request, ``input_tokens`` the prompt as
    counted here (an estimate at worst: reported input may be four times it and more).
    """
    if any(c < 0 or c > MAX_COUNT for c in _counts(usage)):
        return "usage counts that are not token counts"
    if usage.output_tokens > max_output:
        return f"{usage.output_tokens} output tokens for a limit of {max_output}"
    if usage.input_tokens > 4 * input_tokens + 4096:
        return f"{usage.input_tokens} input tokens for a prompt of about {input_tokens}"
    return None


def cost_anomaly(cost: Decimal, estimate: Decimal | None, tokens: int) -> str | None:
    """Why a reported cost cannot be believed, or None: it must be a finite, non-negative
    amount within :data:`COST_FACTOR` of the local estimate (within :data:`MAX_RATE_USD` per
    token when the price is not known)."""
    if not cost.is_finite():
        return f"a reported cost of {cost}"
    if cost < 0:
        return f"a reported cost of {format_usd(cost, exact=True)}"
    ceiling = COST_FACTOR * estimate if estimate is not None else MAX_RATE_USD * tokens
    if cost > ceiling + Decimal("1e-6"):
        shown = "an unknown price"
        if estimate is not None:
            shown = f"an estimate of {format_usd(estimate, exact=True)}"
        return f"a reported cost of {format_usd(cost, exact=True)} for {shown}"
    return None
