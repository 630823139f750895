from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.paths import REPO_ROOT
from think.money import format_usd, json_usd
from think.pricing import (
    Cost,
    ModelPrice,
    PriceOverride,
    Rate,
    call_cost,
    lookup_price,
)
from think.tiers.prices import batch_price
from think.usage import Usage

D = Decimal
NO_OVERRIDES: dict[str, PriceOverride] = {}


def genai(provider: str, model: str) -> ModelPrice:
    price = lookup_price(provider, model, price_provider=provider, overrides=NO_OVERRIDES)
    assert price is not None, f"{provider}:{model} not in genai-prices"
    assert price.source == "genai-prices"
    return price


# --------------------------------------------------------------------------------------------
# Hand-computed costs


def test_gpt_5_mini_worked_example() -> None:
    # PROVIDERS.md 7.2: 800 x 0.25 + 200 x 0.025 + 500 x 2.00 per 1M
    usage = Usage(input_tokens=1000, cached_tokens=200, output_tokens=500, reasoning_tokens=300)
    assert genai("openai", "gpt-5-mini").cost(usage) == D("0.001205")


def test_gpt_4_1_mini_with_cached_input() -> None:
    price = genai("openai", "gpt-4.1-mini")
    assert price.per_mtok() == (D("0.4"), D("0.1"), D("1.6"))
    usage = Usage(input_tokens=10_000, cached_tokens=4_000, output_tokens=2_000)
    # 6000 x 0.40 + 4000 x 0.10 + 2000 x 1.60 = 6000 per 1M
    assert price.cost(usage) == D("0.006")


def test_dated_model_id_resolves() -> None:
    dated = genai("openai", "gpt-4.1-mini-2025-04-14")
    assert dated == genai("openai", "gpt-4.1-mini")
    assert dated.model_id == "gpt-4.1-mini"
    assert genai("anthropic", "claude-sonnet-4-5-20250929").model_id == "claude-sonnet-4-5"


def test_reasoning_tokens_billed_at_output_rate() -> None:
    price = genai("openai", "gpt-5-mini")
    with_reasoning = Usage(input_tokens=100, output_tokens=1000, reasoning_tokens=900)
    without = Usage(input_tokens=100, output_tokens=1000)
    assert price.cost(with_reasoning) == price.cost(without) == D("0.002025")


def test_claude_cache_reads_and_writes() -> None:
    price = genai("anthropic", "claude-sonnet-4-5")
    assert price.per_mtok() == (D(3), D("0.3"), D(15))
    usage = Usage(
        input_tokens=10_000,
        cached_tokens=2_000,
        cache_write_tokens=3_000,
        output_tokens=1_000,
        reasoning_tokens=400,
    )
    # 5000 x 3 + 2000 x 0.30 + 3000 x 3.75 + 1000 x 15 = 41850 per 1M
    assert price.cost(usage) == D("0.04185")


def test_claude_long_context_tier() -> None:
    price = genai("anthropic", "claude-sonnet-4-5")
    assert price.tiered
    # > 200k prompt tokens: 6.00 in / 22.50 out for the whole call
    usage = Usage(input_tokens=300_000, output_tokens=1_000)
    assert price.cost(usage) == D("1.8225")


def test_claude_haiku_4_5() -> None:
    price = genai("anthropic", "claude-haiku-4-5")
    usage = Usage(
        input_tokens=2_000, cached_tokens=1_000, cache_write_tokens=500, output_tokens=100
    )
    # 500 x 1 + 1000 x 0.1 + 500 x 1.25 + 100 x 5 = 1725 per 1M
    assert price.cost(usage) == D("0.001725")


def test_gemini_2_5_pro_tiers() -> None:
    price = genai("google", "gemini-2.5-pro")
    assert price.per_mtok() == (D("1.25"), D("0.125"), D(10))
    small = Usage(input_tokens=100_000, output_tokens=10_000, reasoning_tokens=5_000)
    assert price.cost(small) == D("0.225")  # 100k x 1.25 + 10k x 10
    # the tier is a cliff: above 200k prompt tokens every token is billed at the higher rate
    big = Usage(input_tokens=250_000, cached_tokens=50_000, output_tokens=10_000)
    assert price.cost(big) == D("0.6625")  # 200k x 2.50 + 50k x 0.25 + 10k x 15
    # exactly at the threshold is still the base tier ("more than 200k")
    edge = Usage(input_tokens=200_000, output_tokens=0)
    assert price.cost(edge) == D("0.25")


def test_gemini_long_form_model_name() -> None:
    assert genai("google", "models/gemini-2.5-pro") == genai("google", "gemini-2.5-pro")


def test_date_conditional_price() -> None:
    before = lookup_price(
        "openai",
        "o3",
        price_provider="openai",
        overrides=NO_OVERRIDES,
        when=datetime(2025, 5, 1, tzinfo=UTC),
    )
    assert before is not None
    assert before.per_mtok() == (D(10), D("0.5"), D(40))
    now = genai("openai", "o3")
    assert now.per_mtok() == (D(2), D("0.5"), D(8))


def test_per_request_fee() -> None:
    price = genai("perplexity", "sonar")
    assert price.per_request == D("0.012")
    assert price.cost(Usage()) == D("0.012")


def test_free_models_are_zero_not_unknown() -> None:
    price = genai("openrouter", "deepseek/deepseek-r1:free")
    assert price.cost(Usage(input_tokens=1000, output_tokens=1000)) == 0


def test_embedding_model_has_no_chat_price() -> None:
    assert (
        lookup_price(
            "openai", "text-embedding-3-small", price_provider="openai", overrides=NO_OVERRIDES
        )
        is None
    )


# --------------------------------------------------------------------------------------------
# Lookup order


def test_override_beats_genai_prices() -> None:
    overrides = {"openai:gpt-4.1-mini": PriceOverride(input_mtok=1, output_mtok=2)}
    price = lookup_price("openai", "gpt-4.1-mini", price_provider="openai", overrides=overrides)
    assert price is not None
    assert price.source == "config"
    assert price.per_mtok() == (D(1), None, D(2))
    # without a cached price, cached tokens cost the input price
    assert price.cost(Usage(input_tokens=1000, cached_tokens=500, output_tokens=1000)) == D("0.003")


def test_wildcard_override() -> None:
    overrides = {
        "myserver:*": PriceOverride(input_mtok=0.1, output_mtok=0.2, cached_input_mtok=0.01),
        "myserver:big": PriceOverride(input_mtok=5, output_mtok=10),
    }
    any_model = lookup_price("myserver", "qwen3", price_provider=None, overrides=overrides)
    assert any_model is not None
    assert any_model.source == "config"
    assert any_model.per_mtok() == (D("0.1"), D("0.01"), D("0.2"))  # not 0.1000000000000000055
    specific = lookup_price("myserver", "big", price_provider=None, overrides=overrides)
    assert specific is not None
    assert specific.per_mtok() == (D(5), None, D(10))


def test_override_cache_write_price() -> None:
    override = PriceOverride(
        input_mtok=3, output_mtok=15, cached_input_mtok=0.3, cache_write_mtok=6
    )
    price = ModelPrice.from_override(override)
    usage = Usage(input_tokens=1000, cache_write_tokens=1000, output_tokens=0)
    assert price.cost(usage) == D("0.006")


def test_local_models_cost_zero() -> None:
    price = lookup_price("local", "smollm2", price_provider=None, overrides={}, local=True)
    assert price is not None
    assert price.source == "local"
    assert price.cost(Usage(input_tokens=10**6, output_tokens=10**6)) == 0
    assert price.worst_case(10**6, 10**6) == 0
    assert call_cost(price, Usage(input_tokens=5, output_tokens=5)) == Cost(D(0), "computed")


def test_override_beats_local() -> None:
    overrides = {"local:*": PriceOverride(input_mtok=0.01, output_mtok=0.01)}
    price = lookup_price("local", "smollm2", price_provider=None, overrides=overrides, local=True)
    assert price is not None
    assert price.source == "config"


def test_unknown_model_has_no_price() -> None:
    assert lookup_price("openai", "gpt-9-ultra", price_provider="openai", overrides={}) is None
    assert lookup_price("acme", "gpt-4o", price_provider="no-such-provider", overrides={}) is None
    # no genai-prices provider id: no lookup at all, even for a model genai-prices knows
    assert lookup_price("custom", "gpt-4o", price_provider=None, overrides={}) is None


@pytest.mark.parametrize(
    ("price_provider", "model"),
    [
        ("openai", "gpt-4o-mini"),
        ("deepseek", "deepseek-chat"),
        ("openrouter", "openai/gpt-4o-mini"),
        ("openrouter", "anthropic/claude-sonnet-4.5"),
        ("groq", "llama-3.3-70b-versatile"),
        ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ],
)
def test_other_providers_resolve(price_provider: str, model: str) -> None:
    price = genai(price_provider, model)
    input_rate, _, output_rate = price.per_mtok()
    assert input_rate > 0
    assert output_rate > 0


def test_lookup_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("price lookup tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    assert genai("openai", "gpt-5-mini").cost(Usage(input_tokens=1)) > 0

    from genai_prices import data_snapshot

    assert data_snapshot.get_snapshot().from_auto_update is False  # bundled data only


def test_import_is_light() -> None:
    code = "import sys, think.pricing\nassert 'genai_prices' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


def test_price_override_validation() -> None:
    with pytest.raises(pydantic.ValidationError):
        PriceOverride(input_mtok=-1, output_mtok=1)
    with pytest.raises(pydantic.ValidationError):
        PriceOverride.model_validate({"input_mtok": 1, "output_mtok": 1, "cached_mtok": 0.1})
    parsed = PriceOverride.model_validate({"input_mtok": "0.5", "output_mtok": 2})
    assert parsed.input_mtok == 0.5


# --------------------------------------------------------------------------------------------
# call_cost


def test_batch_price_halves_every_token_rate_of_openai_and_anthropic() -> None:
    usage = Usage(
        input_tokens=300_000, output_tokens=2_000, cached_tokens=100_000, cache_write_tokens=50_000
    )
    for provider, model in (("openai", "gpt-4.1-mini"), ("anthropic", "claude-sonnet-4-5")):
        standard = genai(provider, model)
        batch = batch_price(standard, provider)
        assert batch is not None
        assert batch.cost(usage) == standard.cost(usage) / 2  # tiers, cache reads and writes
        assert batch.source == "genai-prices (batch)"
    assert batch_price(None, "openai") is None


def test_batch_price_fails_closed_where_the_discount_is_unknown() -> None:
    standard = genai("groq", "llama-3.3-70b-versatile")
    assert batch_price(standard, "groq") is standard
    assert batch_price(standard, None) is standard


def test_call_cost_without_usage_is_unknown() -> None:
    assert call_cost(genai("openai", "gpt-5-mini"), None) == Cost(None, "unknown")


def test_call_cost_without_price_is_unknown() -> None:
    assert call_cost(None, Usage(input_tokens=10, output_tokens=10)) == Cost(None, "unknown")


def test_reported_cost_wins() -> None:
    usage = Usage(input_tokens=1000, output_tokens=1000, reported_cost_usd=D("0.0042"))
    assert call_cost(genai("openai", "gpt-5-mini"), usage) == Cost(D("0.0042"), "reported")
    assert call_cost(None, usage) == Cost(D("0.0042"), "reported")


def test_computed_and_estimated() -> None:
    price = genai("openai", "gpt-5-mini")
    usage = Usage(input_tokens=1000, cached_tokens=200, output_tokens=500, reasoning_tokens=300)
    assert call_cost(price, usage) == Cost(D("0.001205"), "computed")
    estimated = Usage(input_tokens=1000, output_tokens=500, source="estimated")
    assert call_cost(price, estimated) == Cost(D("0.00125"), "estimated")


def test_inconsistent_usage_is_clamped_not_raised() -> None:
    price = genai("openai", "gpt-5-mini")
    weird = Usage(input_tokens=100, cached_tokens=500, output_tokens=10, reasoning_tokens=50)
    assert price.cost(weird) == price.cost(
        Usage(input_tokens=100, cached_tokens=100, output_tokens=10)
    )


# --------------------------------------------------------------------------------------------
# Agreement with genai-prices and the worst-case bound

PROPERTY_MODELS = [
    ("openai", "gpt-4.1-mini"),
    ("openai", "gpt-5-mini"),
    ("openai", "o3"),
    ("anthropic", "claude-sonnet-4-5"),  # tiered, cache writes
    ("anthropic", "claude-haiku-4-5"),
    ("google", "gemini-2.5-pro"),  # tiered
    ("google", "gemini-2.5-flash"),
    ("deepseek", "deepseek-reasoner"),
    ("perplexity", "sonar-reasoning"),  # per-request fee
    ("openrouter", "perplexity/sonar-deep-research"),  # separate reasoning rate
]


@st.composite
def usages(draw: st.DrawFn, max_input: int = 400_000, max_output: int = 100_000) -> Usage:
    input_tokens = draw(st.integers(0, max_input))
    cached = draw(st.integers(0, input_tokens))
    written = draw(st.integers(0, input_tokens - cached))
    output_tokens = draw(st.integers(0, max_output))
    reasoning = draw(st.integers(0, output_tokens))
    return Usage(
        input_tokens=input_tokens,
        cached_tokens=cached,
        cache_write_tokens=written,
        output_tokens=output_tokens,
        reasoning_tokens=reasoning,
    )


@settings(max_examples=200, deadline=None)
@given(model=st.sampled_from(PROPERTY_MODELS), usage=usages())
def test_cost_matches_genai_calc_price(model: tuple[str, str], usage: Usage) -> None:
    import genai_prices

    provider, model_id = model
    expected = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage.input_tokens,
            cache_read_tokens=usage.cached_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            output_tokens=usage.output_tokens,
            output_reasoning_tokens=usage.reasoning_tokens,
        ),
        model_id,
        provider_id=provider,
    ).total_price
    assert genai(provider, model_id).cost(usage) == expected


@st.composite
def bounded_usages(draw: st.DrawFn) -> tuple[int, int, Usage]:
    max_input = draw(st.integers(0, 500_000))
    max_output = draw(st.integers(0, 128_000))
    return max_input, max_output, draw(usages(max_input=max_input, max_output=max_output))


OVERRIDE_PRICE = ModelPrice.from_override(
    PriceOverride(input_mtok=1, output_mtok=4, cached_input_mtok=0.1, cache_write_mtok=2.5)
)
# a synthetic price whose tiers go *down*: the bound must still hold
ODD_TIERS = ModelPrice(
    source="config",
    input=Rate(D(2), ((1000, D(1)), (5000, D(3)))),
    output=Rate(D(8), ((1000, D(4)),)),
    cached_input=Rate(D("0.5"), ((1000, D(6)),)),
    reasoning=Rate(D(10)),
)


@settings(max_examples=300, deadline=None)
@given(model=st.sampled_from(PROPERTY_MODELS), bounds=bounded_usages())
def test_worst_case_bounds_cost(model: tuple[str, str], bounds: tuple[int, int, Usage]) -> None:
    max_input, max_output, usage = bounds
    price = genai(*model)
    assert price.worst_case(max_input, max_output) >= price.cost(usage)


@settings(max_examples=200, deadline=None)
@given(
    price=st.sampled_from([OVERRIDE_PRICE, ODD_TIERS, ModelPrice.zero()]), bounds=bounded_usages()
)
def test_worst_case_bounds_cost_synthetic(
    price: ModelPrice, bounds: tuple[int, int, Usage]
) -> None:
    max_input, max_output, usage = bounds
    assert price.worst_case(max_input, max_output) >= price.cost(usage)


def test_worst_case_is_tight_without_caching() -> None:
    price = genai("openai", "gpt-4.1-mini")  # no cache-write price: input is the top rate
    assert price.worst_case(10_000, 2_000) == price.cost(
        Usage(input_tokens=10_000, output_tokens=2_000)
    )
    gemini = genai("google", "gemini-2.5-pro")
    # below the tier threshold the base rates apply; above it the tier rates
    assert gemini.worst_case(100_000, 1_000) == D("0.135")
    assert gemini.worst_case(300_000, 1_000) == D("0.765")


def test_worst_case_includes_cache_write_premium() -> None:
    price = genai("anthropic", "claude-haiku-4-5")
    # every prompt token could be a cache write at 1.25
    assert price.worst_case(1_000_000, 0) == D("1.25")


# --------------------------------------------------------------------------------------------
# format_usd


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "unknown"),
        (D(0), "$0.00"),
        (D("0.001205"), "$0.0012"),
        (D("0.0000341"), "$0.000034"),
        (D("0.000034"), "$0.000034"),
        (D("0.5"), "$0.50"),
        (D("0.123456"), "$0.12"),
        (D("0.0995"), "$0.10"),
        (D("0.999"), "$1.00"),
        (D("1"), "$1.00"),
        (D("12.345"), "$12.35"),
        (D("1234.5"), "$1,234.50"),
        (D("-0.0012"), "-$0.0012"),
        (D("0.01"), "$0.01"),
        (D("0.010"), "$0.01"),
        (D("0.00001"), "$0.00001"),
        (D("0.000010"), "$0.00001"),
        (D("0.00005"), "$0.00005"),
        (D("0.10"), "$0.10"),
        (D("-0"), "$0.00"),
        (D("1e-320"), "<$0.000000001"),
        (D("Infinity"), "unknown"),
        (D("NaN"), "unknown"),
        (D("1e5"), "$100,000.00"),
    ],
)
def test_format_usd(value: Decimal | None, text: str) -> None:
    assert format_usd(value) == text
    assert "e" not in text.lower().replace("unknown", "")


def test_exact_format_keeps_every_digit_of_a_price() -> None:
    assert format_usd(D("0.275"), exact=True) == "$0.275"
    assert format_usd(D("1.1"), exact=True) == "$1.10"
    assert format_usd(D("1500"), exact=True) == "$1,500.00"
    assert format_usd(D("0.0000125"), exact=True) == "$0.0000125"
    assert format_usd(D("0"), exact=True) == "$0.00"


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (None, None),
        (D("0.00024647105263157895"), 0.000246471),
        (0.00024647105263157895, 0.000246471),
        (D("0.0000012"), 0.0000012),
        (D("1e-12"), 0.0),
        (D("12.5"), 12.5),
        (D("NaN"), None),
        (float("inf"), None),
        (D("-0"), 0.0),
    ],
)
def test_json_usd_rounds_to_the_nano_dollar(
    value: Decimal | float | None, number: float | None
) -> None:
    assert json_usd(value) == number
    if number == 0:
        assert str(json_usd(value)) == "0.0"  # never -0.0
