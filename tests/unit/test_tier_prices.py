"""Prices at a service tier: the config's ``@tier`` key, genai-prices' tier variants (only where
a model has one: genai-prices answers the standard price otherwise), the documented Gemini
rule, and unknown (None) otherwise; the reservation is the dearer of the tier and standard."""

from __future__ import annotations

from decimal import Decimal

from think.pricing import ModelPrice, PriceOverride, lookup_price
from think.tiers.prices import reservation_price, tier_price
from think.usage import Usage

MILLION = Usage(input_tokens=1_000_000, output_tokens=1_000_000)


def standard(provider: str, model: str, price_provider: str) -> ModelPrice | None:
    return lookup_price(provider, model, price_provider=price_provider, overrides={})


def at(
    provider: str, model: str, tier: str, price_provider: str, **overrides: PriceOverride
) -> ModelPrice | None:
    return tier_price(
        provider,
        model,
        tier,
        standard=lookup_price(provider, model, price_provider=price_provider, overrides=overrides),
        price_provider=price_provider,
        overrides=overrides,
    )


def test_genai_prices_flex_variant_is_half_of_standard_for_gpt_5_mini() -> None:
    base = standard("openai", "gpt-5-mini", "openai")
    flex = at("openai", "gpt-5-mini", "flex", "openai")
    assert base is not None
    assert flex is not None
    assert flex.source == "genai-prices flex"
    assert flex.cost(MILLION) * 2 == base.cost(MILLION)
    priority = at("openai", "gpt-5-mini", "priority", "openai")
    assert priority is not None
    assert priority.cost(MILLION) > base.cost(MILLION)


def test_no_variant_means_unknown_not_the_standard_price() -> None:
    assert at("openai", "gpt-4o-mini", "flex", "openai") is None
    assert at("openai", "gpt-5-mini", "scale", "openai") is None


def test_standard_is_the_standard_price() -> None:
    assert at("openai", "gpt-4o-mini", "standard", "openai") == standard(
        "openai", "gpt-4o-mini", "openai"
    )


def test_the_gemini_rule_halves_input_and_output() -> None:
    base = standard("gemini", "gemini-3.8-flash", "google")
    flex = at("gemini", "gemini-3.8-flash", "flex", "google")
    assert base is not None
    assert flex is not None
    assert flex.source == "rule flex"
    assert flex.input.base == base.input.base / 2
    assert flex.output.base == base.output.base / 2
    priority = at("gemini", "gemini-3.8-flash", "priority", "google")
    assert priority is not None
    assert priority.output.base == base.output.base * Decimal("1.8")
    assert at("gemini", "gemini-2.5-flash", "flex", "google") is None  # no documented rate


def test_the_config_wins_and_a_configured_standard_price_has_no_catalogue_tier() -> None:
    flex = at(
        "openai",
        "gpt-5-mini",
        "flex",
        "openai",
        **{"openai:gpt-5-mini@flex": PriceOverride(input_mtok=0.01, output_mtok=0.02)},
    )
    assert flex is not None
    assert flex.cost(MILLION) == Decimal("0.03")
    mine = {"openai:gpt-5-mini": PriceOverride(input_mtok=1, output_mtok=1)}
    assert at("openai", "gpt-5-mini", "flex", "openai", **mine) is None


def test_a_flex_call_is_reserved_at_standard_and_a_priority_call_at_priority() -> None:
    base = standard("openai", "gpt-5-mini", "openai")
    flex = at("openai", "gpt-5-mini", "flex", "openai")
    priority = at("openai", "gpt-5-mini", "priority", "openai")
    assert reservation_price(base, flex) is base
    assert reservation_price(base, priority) is priority
    assert reservation_price(base, None) is base
