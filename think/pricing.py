"""Model prices and the cost of provider calls.

Prices come, in this order, from the user's config (``[prices."provider:model"]`` or
``[prices."provider:*"]``), from a zero price for local models, or from the data bundled with
``genai-prices`` (never fetched: this module does not use ``UpdatePrices``).  An unknown model
has no price (``None``) and its cost is *unknown*, never $0.

Costs follow genai-prices' semantics, which :class:`think.usage.Usage` shares:
``input_tokens`` is the whole prompt, of which ``cached_tokens`` are billed at the cache-read
rate and ``cache_write_tokens`` at the cache-write rate (each at the plain input rate when the
model has no such price); ``output_tokens`` include the reasoning tokens, billed at the output
rate (or at a separate reasoning rate where genai-prices lists one).  Anthropic's one-hour
cache writes (``cache_write_1h_tokens``, part of ``cache_write_tokens``) have their own rate
(genai-prices ``cache_write_1h_mtok``).  Tiered prices are "cliff" tiers: once the whole
prompt is longer than a tier's start, that tier's rate applies to *all* tokens of the call
(genai-prices ``TieredPrices``).  Date-conditional and
time-of-day prices are resolved when the price is looked up (genai-prices' choice for "now").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import pydantic

from think.usage import Usage

if TYPE_CHECKING:
    from genai_prices import types as gp_types

__all__ = [
    "Cost",
    "CostSource",
    "ModelPrice",
    "PriceOverride",
    "Rate",
    "call_cost",
    "lookup_price",
]

log = logging.getLogger(__name__)

MTOK = Decimal(1_000_000)
_ZERO = Decimal(0)


class PriceOverride(pydantic.BaseModel):
    """A user-configured price, USD per million tokens."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    input_mtok: float = pydantic.Field(ge=0)
    output_mtok: float = pydantic.Field(ge=0)
    cached_input_mtok: float | None = pydantic.Field(default=None, ge=0)
    """Cache-read price; cached tokens cost the input price when unset."""
    cache_write_mtok: float | None = pydantic.Field(default=None, ge=0)
    """Cache-write price; cache writes cost the input price when unset."""


def _decimal(value: float) -> Decimal:
    # via str so 0.1 stays 0.1 rather than 0.1000000000000000055511151231257827...
    return Decimal(str(value))


@dataclass(frozen=True)
class Rate:
    """USD per million tokens, optionally tiered by the total prompt size.

    ``tiers`` holds ``(start, price)`` pairs in ascending order; a tier applies when the
    call's whole prompt (``Usage.input_tokens``) is *greater than* ``start``, and then applies
    to every token of that kind in the call.
    """

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...] = ()

    def at(self, prompt_tokens: int) -> Decimal:
        """The rate for a call whose whole prompt has ``prompt_tokens`` tokens."""
        for start, price in reversed(self.tiers):
            if prompt_tokens > start:
                return price
        return self.base

    def highest_up_to(self, prompt_tokens: int) -> Decimal:
        """The highest rate any call with a prompt of at most ``prompt_tokens`` can pay."""
        return max(
            [self.base, *(price for start, price in self.tiers if prompt_tokens > start)],
        )

    @property
    def tiered(self) -> bool:
        return bool(self.tiers)

    def scaled(self, factor: Decimal) -> Rate:
        """This rate with the base and every tier's price multiplied by ``factor``."""
        return Rate(self.base * factor, tuple((start, p * factor) for start, p in self.tiers))


@dataclass(frozen=True, kw_only=True)
class ModelPrice:
    """What one model costs, resolved for the time of the lookup."""

    source: str
    """``"genai-prices"``, ``"config"`` or ``"local"``."""
    input: Rate
    output: Rate
    cached_input: Rate | None = None
    """Cache-read rate; None bills cached tokens at the input rate."""
    cache_write: Rate | None = None
    """Cache-write rate (5-minute writes for Anthropic); None bills writes at the input rate."""
    cache_write_1h: Rate | None = None
    """One-hour cache-write rate (Anthropic); None bills them at the cache-write rate."""
    reasoning: Rate | None = None
    """Separate reasoning-token rate (rare); None bills reasoning at the output rate."""
    per_request: Decimal = _ZERO
    """Flat fee per call (genai-prices ``requests_kcount`` / 1000)."""
    model_id: str | None = field(default=None, compare=False)
    """The matched genai-prices model id, for display."""
    provider_id: str | None = field(default=None, compare=False)

    @classmethod
    def zero(cls, source: str = "local") -> ModelPrice:
        return cls(source=source, input=Rate(_ZERO), output=Rate(_ZERO))

    @classmethod
    def from_override(cls, override: PriceOverride) -> ModelPrice:
        return cls(
            source="config",
            input=Rate(_decimal(override.input_mtok)),
            output=Rate(_decimal(override.output_mtok)),
            cached_input=(
                None
                if override.cached_input_mtok is None
                else Rate(_decimal(override.cached_input_mtok))
            ),
            cache_write=(
                None
                if override.cache_write_mtok is None
                else Rate(_decimal(override.cache_write_mtok))
            ),
        )

    def cost(self, usage: Usage) -> Decimal:
        """Exact USD cost of one call with this usage.

        Inconsistent counts are clamped rather than rejected (cached + written ≤ input,
        reasoning ≤ output), so this never raises on odd provider data.
        """
        prompt = max(usage.input_tokens, 0)
        output = max(usage.output_tokens, 0)
        cached = min(max(usage.cached_tokens, 0), prompt)
        written = min(max(usage.cache_write_tokens, 0), prompt - cached)
        written_1h = min(max(usage.cache_write_1h_tokens, 0), written)
        reasoning = min(max(usage.reasoning_tokens, 0), output)
        fresh = prompt - cached - written

        input_rate = self.input.at(prompt)
        cached_rate = input_rate if self.cached_input is None else self.cached_input.at(prompt)
        write_rate = input_rate if self.cache_write is None else self.cache_write.at(prompt)
        write_1h_rate = (
            write_rate if self.cache_write_1h is None else self.cache_write_1h.at(prompt)
        )
        output_rate = self.output.at(prompt)
        reasoning_rate = output_rate if self.reasoning is None else self.reasoning.at(prompt)

        parts = (
            input_rate * fresh,
            cached_rate * cached,
            write_rate * (written - written_1h),
            write_1h_rate * written_1h,
            output_rate * (output - reasoning),
            reasoning_rate * reasoning,
        )
        return sum((part / MTOK for part in parts), start=_ZERO) + self.per_request

    def worst_case(self, input_tokens: int, max_output_tokens: int) -> Decimal:
        """An upper bound of :meth:`cost` for any usage with at most these token counts.

        Every prompt token is priced at the highest of the input, cache-read and cache-write
        rates (so caching can only make the real cost lower), every output token at the highest
        of the output and reasoning rates, each at the highest tier a prompt of at most
        ``input_tokens`` can reach. One-hour cache writes are left out: only a request that
        asks for them (``cache_control`` with ``ttl: 1h``) makes them, and think's do not.
        """
        prompt = max(input_tokens, 0)
        output = max(max_output_tokens, 0)
        input_rates = [
            r for r in (self.input, self.cached_input, self.cache_write) if r is not None
        ]
        output_rates = [r for r in (self.output, self.reasoning) if r is not None]
        input_rate = max(r.highest_up_to(prompt) for r in input_rates)
        output_rate = max(r.highest_up_to(prompt) for r in output_rates)
        return (input_rate * prompt + output_rate * output) / MTOK + self.per_request

    def per_mtok(self) -> tuple[Decimal, Decimal | None, Decimal]:
        """Headline ``(input, cached input, output)`` USD per million tokens (base tier)."""
        cached = None if self.cached_input is None else self.cached_input.base
        return self.input.base, cached, self.output.base

    @property
    def tiered(self) -> bool:
        """Whether some rate changes with the prompt size."""
        rates = (
            self.input,
            self.output,
            self.cached_input,
            self.cache_write,
            self.cache_write_1h,
            self.reasoning,
        )
        return any(r is not None and r.tiered for r in rates)


# --------------------------------------------------------------------------------------------
# genai-prices


def _rate(value: object) -> Rate | None:
    """Convert a genai-prices price value (Decimal or TieredPrices) into a :class:`Rate`."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return Rate(value)
    from genai_prices.types import TieredPrices

    if isinstance(value, TieredPrices):
        tiers = sorted((tier.start, tier.price) for tier in value.tiers)
        return Rate(value.base, tuple(tiers))
    raise TypeError(f"unexpected genai-prices price {value!r}")


def from_genai(
    prices: gp_types.ModelPrice, *, model_id: str, provider_id: str
) -> ModelPrice | None:
    values = {key: v for key, v in vars(prices).items() if v is not None}
    if not values:
        # genai-prices lists these models with no price at all: free (":free" OpenRouter
        # variants, Gemma on the Gemini API, subscription-included models).
        return ModelPrice(
            source="genai-prices",
            input=Rate(_ZERO),
            output=Rate(_ZERO),
            model_id=model_id,
            provider_id=provider_id,
        )
    input_rate = _rate(values.get("input_mtok"))
    output_rate = _rate(values.get("output_mtok"))
    if input_rate is None or output_rate is None:
        # Embedding / input-only / per-character models: not a chat price we can apply.
        return None
    requests = _rate(values.get("requests_kcount"))
    return ModelPrice(
        source="genai-prices",
        input=input_rate,
        output=output_rate,
        cached_input=_rate(values.get("cache_read_mtok")),
        cache_write=_rate(values.get("cache_write_mtok")),
        cache_write_1h=_rate(values.get("cache_write_1h_mtok")),
        reasoning=_rate(values.get("output_reasoning_mtok")),
        per_request=_ZERO if requests is None else requests.base / 1000,
        model_id=model_id,
        provider_id=provider_id,
    )


def _genai_lookup(price_provider: str, model: str, when: datetime | None) -> ModelPrice | None:
    """genai-prices' price, from :mod:`think.config.price_cache` when decoded before."""
    from think.config import price_cache

    key = f"{price_provider}:{model}"
    cached = price_cache.load(key)
    if not isinstance(cached, price_cache.Miss):
        try:
            return _price_from_json(cached)
        except (ArithmeticError, LookupError, TypeError, ValueError):  # a corrupt entry
            pass
    price, timeless = _genai_decode(price_provider, model, when)
    if timeless:
        price_cache.store(key, _price_to_json(price))
    return price


_RATES = ("input", "output", "cached_input", "cache_write", "cache_write_1h", "reasoning")


def _price_to_json(price: ModelPrice | None) -> object:
    """A genai-prices price as JSON, Decimals as strings (exact), a rate as [base, tiers]."""
    if price is None:
        return None
    rates: list[Rate | None] = [getattr(price, name) for name in _RATES]
    json_rates = [
        None if r is None else [str(r.base), [[n, str(p)] for n, p in r.tiers]] for r in rates
    ]
    return [*json_rates, str(price.per_request), price.model_id, price.provider_id]


def _price_from_json(value: Any) -> ModelPrice | None:
    if value is None:
        return None
    *json_rates, per_request, model_id, provider_id = value
    rates = [
        None if r is None else Rate(Decimal(r[0]), tuple((int(n), Decimal(p)) for n, p in r[1]))
        for r in json_rates
    ]
    if len(rates) != len(_RATES) or rates[0] is None or rates[1] is None:
        raise ValueError(f"not a cached price: {value!r}")
    ids = [None if i is None else str(i) for i in (model_id, provider_id)]
    return ModelPrice(
        source="genai-prices",
        input=rates[0],
        output=rates[1],
        cached_input=rates[2],
        cache_write=rates[3],
        cache_write_1h=rates[4],
        reasoning=rates[5],
        per_request=Decimal(per_request),
        model_id=ids[0],
        provider_id=ids[1],
    )


def _genai_decode(
    price_provider: str, model: str, when: datetime | None
) -> tuple[ModelPrice | None, bool]:
    """The price from genai-prices' data, and whether it holds at any moment (neither dated
    nor time-of-day prices: then it may be cached)."""
    try:
        from genai_prices import data_snapshot
    except ImportError:  # pragma: no cover - genai-prices is a hard dependency
        log.warning("genai-prices is not installed; prices unknown")
        return None, False
    from genai_prices.types import ModelPrice as GenaiPrice

    snapshot = data_snapshot.get_snapshot()
    candidates = [model]
    if model.startswith("models/"):  # Gemini's long form
        candidates.append(model.removeprefix("models/"))
    for ref in candidates:
        try:
            provider, info = snapshot.find_provider_model(ref, None, price_provider, None)
        except LookupError:
            continue
        try:
            prices = info.get_prices(when or datetime.now(tz=UTC))
            price = from_genai(prices, model_id=info.id, provider_id=provider.id)
        except (TypeError, ValueError, IndexError):
            log.warning("unusable genai-prices entry for %s:%s", price_provider, ref, exc_info=True)
            return None, False
        return price, isinstance(info.prices, GenaiPrice)
    return None, True


def catalogue(price_provider: str, when: datetime | None = None) -> list[ModelPrice]:
    """Every current chat model genai-prices lists for ``price_provider``, with its price.

    Deprecated models and models without a per-token chat price (embeddings) are left out.
    """
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    provider = next((p for p in snapshot.providers if p.id == price_provider), None)
    if provider is None:
        return []
    moment = when or datetime.now(tz=UTC)
    found: list[ModelPrice] = []
    for info in provider.models:
        if info.deprecated:
            continue
        try:
            price = from_genai(info.get_prices(moment), model_id=info.id, provider_id=provider.id)
        except (TypeError, ValueError, IndexError):
            continue
        if price is not None:
            found.append(price)
    return found


def lookup_price(
    provider: str,
    model: str,
    *,
    price_provider: str | None,
    overrides: Mapping[str, PriceOverride],
    local: bool = False,
    when: datetime | None = None,
) -> ModelPrice | None:
    """The price of ``provider:model``, or None when it is unknown.

    Order: ``overrides["provider:model"]``, ``overrides["provider:*"]``, a zero price when
    ``local``, then genai-prices under the provider id ``price_provider`` (``None`` skips it).
    ``when`` picks date-conditional genai-prices (default: now).
    """
    for key in (f"{provider}:{model}", f"{provider}:*"):
        override = overrides.get(key)
        if override is not None:
            return ModelPrice.from_override(override)
    if local:
        return ModelPrice.zero("local")
    if price_provider is None:
        return None
    return _genai_lookup(price_provider, model, when)


# --------------------------------------------------------------------------------------------
# Cost of a call

CostSource = Literal["reported", "computed", "estimated", "unknown"]


@dataclass(frozen=True)
class Cost:
    usd: Decimal | None
    """None means unknown, which is never shown as $0."""
    source: CostSource

    @classmethod
    def unknown(cls) -> Cost:
        return cls(None, "unknown")


def call_cost(price: ModelPrice | None, usage: Usage | None) -> Cost:
    """The cost of one call: provider-reported if available, else computed from the price."""
    if usage is None:
        return Cost.unknown()
    if usage.reported_cost_usd is not None:
        return Cost(usage.reported_cost_usd, "reported")
    if price is None:
        return Cost.unknown()
    usd = price.cost(usage)
    return Cost(usd, "estimated" if usage.source == "estimated" else "computed")
