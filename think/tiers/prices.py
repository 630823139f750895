"""The price of a model at a service tier other than standard (flex, priority …), and
through a provider's batch API (:func:`batch_price`).

In this order:

1. the user's config: ``[prices."provider:model@flex"]`` (a :class:`PriceOverride`);
2. genai-prices' request-conditional prices, ``price_variants`` with
   ``when={"service_tier": "flex"}`` (OpenAI's flex, priority and fast rates, verified by
   genai-prices against developers.openai.com/api/docs/pricing). A model without a variant
   for the tier has no price there: genai-prices would answer with the standard price, which
   is not the tier's;
3. :data:`TIER_FACTORS`: documented rules for models genai-prices lists without variants;
4. else unknown (None): the call is reserved and recorded at the standard price, and the run
   says the tier's price was unknown (fail closed: a discount is never assumed).

A model whose standard price comes from the config has no tier price but the config's own:
genai-prices' variants are relative to genai-prices' standard price, not the user's.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from think.pricing import ModelPrice, PriceOverride, Rate, from_genai
from think.tiers import BATCH, BATCH_REREAD, STANDARD


@dataclasses.dataclass(frozen=True)
class TierFactor:
    """A tier's price as a multiple of the standard input and output rates."""

    price_provider: str
    models: str
    """Regex of genai-prices model ids."""
    factors: Mapping[str, Decimal]
    source: str


TIER_FACTORS: tuple[TierFactor, ...] = (
    TierFactor(
        "google",
        r"^gemini-3\.(7|8)-flash$|^gemini-4-argon$",
        {"flex": Decimal("0.5"), "priority": Decimal("1.8")},
        "ai.google.dev/gemini-api/docs/pricing: Flex 50% of standard, Priority 1.8x "
        "(as genai-prices' price_comments for these models quote it)",
    ),
    TierFactor(
        "google",
        r"^gemini-3\.5-flash(-lite)?$|^gemini-3\.6-flash$",
        {"flex": Decimal("0.5")},
        "ai.google.dev/gemini-api/docs/pricing: Batch and Flex 50% of standard on input and "
        "output (genai-prices' price_comments); no priority rate listed",
    ),
)
"""Tier rules for models genai-prices lists without tier variants. Only input and output
rates are scaled; cache rates stay at standard (Google states the discount for input and
output), so the rule can only overstate a cost."""


def _variant_price(price_provider: str, model: str, tier: str, when: datetime) -> ModelPrice | None:
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    try:
        provider, info = snapshot.find_provider_model(model, None, price_provider, None)
    except LookupError:
        return None
    context = {"service_tier": tier}
    has = any(
        variant.when == context and (variant.constraint is None or variant.constraint.active(when))
        for variant in info.price_variants or ()
    )
    if not has:
        return None
    try:
        prices = info.get_prices(when, context)
    except (TypeError, ValueError, IndexError):
        return None
    found = from_genai(prices, model_id=info.id, provider_id=provider.id)
    return None if found is None else dataclasses.replace(found, source=f"genai-prices {tier}")


def _factor_price(price_provider: str, standard: ModelPrice, tier: str) -> ModelPrice | None:
    model_id = standard.model_id or ""
    for rule in TIER_FACTORS:
        factor = rule.factors.get(tier)
        if factor is None or rule.price_provider != price_provider:
            continue
        if re.search(rule.models, model_id):
            return dataclasses.replace(
                standard,
                source=f"rule {tier}",
                input=standard.input.scaled(factor),
                output=standard.output.scaled(factor),
            )
    return None


def reservation_price(standard: ModelPrice | None, asked: ModelPrice | None) -> ModelPrice | None:
    """What a call asking for a tier priced ``asked`` is reserved (and, when the provider
    does not say what it served, billed) at: the dearer of that and standard, since the
    provider may serve standard instead (fail closed); the tier's price unknown: standard's."""
    if standard is None or asked is None:
        return standard
    probe = (1000, 1000)
    return asked if asked.worst_case(*probe) > standard.worst_case(*probe) else standard


def tier_price(
    provider: str,
    model: str,
    tier: str,
    *,
    standard: ModelPrice | None,
    price_provider: str | None,
    overrides: Mapping[str, PriceOverride],
    when: datetime | None = None,
) -> ModelPrice | None:
    """The price of ``provider:model`` served at ``tier``; ``standard`` is its standard price
    (returned for ``tier == "standard"``). None: the tier's price is unknown."""
    if tier == STANDARD:
        return standard
    if tier == BATCH:
        return batch_price(standard, price_provider)
    if tier == BATCH_REREAD:
        return ModelPrice.zero(source="already recorded")
    override = overrides.get(f"{provider}:{model}@{tier}")
    if override is not None:
        return dataclasses.replace(ModelPrice.from_override(override), source=f"config {tier}")
    if standard is None or standard.source != "genai-prices" or price_provider is None:
        return None
    moment = when or datetime.now(tz=UTC)
    for ref in (model, model.removeprefix("models/")):
        found = _variant_price(price_provider, ref, tier, moment)
        if found is not None:
            return found
    return _factor_price(price_provider, standard, tier)


# --------------------------------------------------------------------------------------------
# Batch APIs: a discount on every rate

BATCH_DISCOUNT: Mapping[str, Decimal] = {
    # "Each model will be offered at 50% cost discount vs. the synchronous APIs"
    # (https://help.openai.com/en/articles/9197833-batch-api-faq, and the Batch column of
    # https://openai.com/api/pricing, where cached input is halved too).
    "openai": Decimal("0.5"),
    # "The Batches API offers a 50% discount"; prompt-caching multipliers stack with it
    # (https://docs.claude.com/en/docs/build-with-claude/batch-processing#pricing; the batch
    # table there is half of every standard rate).
    "anthropic": Decimal("0.5"),
}
"""The factor a provider's batch API applies to every per-token rate, by genai-prices
provider id. genai-prices 0.2 has no batch prices for these providers (its ``:batch``
models are OpenRouter's), so this table is the one place the discount lives."""


def batch_price(price: ModelPrice | None, price_provider: str | None) -> ModelPrice | None:
    """What a call through ``price_provider``'s batch API costs: ``price`` with every
    per-token rate scaled by :data:`BATCH_DISCOUNT`. Fails closed: a provider without a known
    discount keeps the standard price (a per-request fee is never discounted)."""
    factor = BATCH_DISCOUNT.get(price_provider or "")
    if price is None or factor is None:
        return price

    def scaled(rate: Rate | None) -> Rate | None:
        return None if rate is None else rate.scaled(factor)

    return dataclasses.replace(
        price,
        source=f"{price.source} (batch)",
        input=price.input.scaled(factor),
        output=price.output.scaled(factor),
        cached_input=scaled(price.cached_input),
        cache_write=scaled(price.cache_write),
        cache_write_1h=scaled(price.cache_write_1h),
        reasoning=scaled(price.reasoning),
    )
