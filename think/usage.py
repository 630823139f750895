"""Token usage of one provider call, in genai-prices' semantics.

``input_tokens`` is the whole prompt (cache reads and writes included) and ``output_tokens``
all generated tokens (reasoning included); the detail fields are subsets of those totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

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
