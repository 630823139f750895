"""The on-disk cache of genai-prices' per-model prices (think.config.price_cache)."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT
from think import pricing
from think.config import price_cache
from think.pricing import ModelPrice, PriceOverride, _genai_decode, lookup_price
from think.usage import Usage

NO_OVERRIDES: dict[str, PriceOverride] = {}

MODELS = [
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-5-mini"),
    ("anthropic", "claude-sonnet-4-5"),  # tiered by prompt size, cache writes
    ("google", "gemini-2.5-pro"),  # tiered by prompt size
    ("perplexity", "sonar-reasoning"),  # per-request fee
    ("openrouter", "perplexity/sonar-deep-research"),  # separate reasoning rate
]

USAGES = [
    Usage(input_tokens=1, output_tokens=1),
    Usage(input_tokens=12_345, cached_tokens=2_000, output_tokens=777, reasoning_tokens=300),
    Usage(input_tokens=250_001, cache_write_tokens=1_000, output_tokens=9_999),  # above tiers
]


def lookup(provider: str, model: str) -> ModelPrice | None:
    return lookup_price(provider, model, price_provider=provider, overrides=NO_OVERRIDES)


def from_cache(monkeypatch: pytest.MonkeyPatch, provider: str, model: str) -> ModelPrice | None:
    """The lookup, with genai-prices out of reach: the price can only come from the cache."""

    def unreachable(*args: object) -> object:
        raise AssertionError("genai-prices was consulted")

    with monkeypatch.context() as patch:
        patch.setattr(pricing, "_genai_decode", unreachable)
        return lookup(provider, model)


def cached_keys() -> set[str]:
    return set(json.loads(price_cache.cache_path().read_text())["prices"])


@pytest.mark.parametrize(("provider", "model"), MODELS)
def test_a_cached_price_costs_what_genai_prices_says(
    monkeypatch: pytest.MonkeyPatch, provider: str, model: str
) -> None:
    direct, timeless = _genai_decode(provider, model, None)
    assert direct is not None
    assert timeless
    first = lookup(provider, model)  # decoded, then stored
    assert f"{provider}:{model}" in cached_keys()
    cached = from_cache(monkeypatch, provider, model)
    assert cached == direct == first
    assert isinstance(cached, ModelPrice)
    assert (cached.model_id, cached.provider_id) == (direct.model_id, direct.provider_id)
    assert cached.tiered == direct.tiered
    for usage in USAGES:
        assert cached.cost(usage) == direct.cost(usage)
        assert cached.worst_case(usage.input_tokens, 4096) == direct.worst_case(
            usage.input_tokens, 4096
        )


def test_tiered_prices_are_cached_with_their_tiers(monkeypatch: pytest.MonkeyPatch) -> None:
    lookup("google", "gemini-2.5-pro")
    cached = from_cache(monkeypatch, "google", "gemini-2.5-pro")
    assert isinstance(cached, ModelPrice)
    assert cached.tiered
    assert cached.input.at(200_001) > cached.input.at(200_000)


def test_time_of_day_prices_are_never_cached() -> None:
    # deepseek-reasoner has off-peak (time-of-day) prices: decoded anew for each moment
    night = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)
    price = lookup_price(
        "deepseek", "deepseek-reasoner", price_provider="deepseek", overrides={}, when=night
    )
    assert price is not None
    assert not price_cache.cache_path().exists()
    lookup("openai", "gpt-4o-mini")
    assert "deepseek:deepseek-reasoner" not in cached_keys()


def test_unknown_models_are_cached_as_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lookup("openai", "gpt-9-turbo") is None
    assert "openai:gpt-9-turbo" in cached_keys()
    assert from_cache(monkeypatch, "openai", "gpt-9-turbo") is None


def test_the_stamp_names_the_installed_version() -> None:
    stamp = price_cache.genai_prices_stamp()
    assert stamp is not None
    assert stamp.split()[0] == importlib.metadata.version("genai-prices")


def test_another_genai_prices_version_makes_the_cache_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lookup("openai", "gpt-4o-mini")
    stamp = price_cache.genai_prices_stamp()
    monkeypatch.setattr(price_cache, "genai_prices_stamp", lambda: f"99.0 {stamp}")
    assert isinstance(price_cache.load("openai:gpt-4o-mini"), price_cache.Miss)
    lookup("openai", "gpt-5-mini")  # rewrites the file for the new version
    assert cached_keys() == {"openai:gpt-5-mini"}
    assert json.loads(price_cache.cache_path().read_text())["stamp"] == f"99.0 {stamp}"


@pytest.mark.parametrize(
    "contents",
    [
        b"\x00garbage{",
        b"[1, 2]",
        b'{"stamp": null, "prices": []}',
        b"",
    ],
)
def test_a_corrupt_cache_file_is_ignored_and_rewritten(contents: bytes) -> None:
    path = price_cache.cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(contents)
    direct, _ = _genai_decode("openai", "gpt-4o-mini", None)
    assert lookup("openai", "gpt-4o-mini") == direct
    assert cached_keys() == {"openai:gpt-4o-mini"}


@pytest.mark.parametrize(
    "entry",
    [
        [["x", []]] * 6 + ["0", "gpt-4o-mini", "openai"],
        [["0.1", [["a", "b"]]]] * 6 + ["0", None, None],
        [[]] * 6 + ["0", None, None],
        [None] * 6 + ["0", None, None],
        [["0.1", []]] * 2,
        "not a price",
        {},
        7,
    ],
)
def test_a_corrupt_entry_is_decoded_again(monkeypatch: pytest.MonkeyPatch, entry: object) -> None:
    stamp = price_cache.genai_prices_stamp()
    path = price_cache.cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"stamp": stamp, "prices": {"openai:gpt-4o-mini": entry}}))
    direct, _ = _genai_decode("openai", "gpt-4o-mini", None)
    assert lookup("openai", "gpt-4o-mini") == direct
    assert from_cache(monkeypatch, "openai", "gpt-4o-mini") == direct


def test_a_cached_price_does_not_import_the_catalogue(isolated_env: Path) -> None:
    code = (
        "import sys\n"
        "from think.pricing import lookup_price\n"
        "price = lookup_price('openai', 'gpt-4o-mini', price_provider='openai', overrides={})\n"
        "print(price.per_mtok())\n"
        "print('genai_prices' in sys.modules)\n"
    )
    run = [sys.executable, "-c", code]
    first = subprocess.run(run, check=True, cwd=REPO_ROOT, capture_output=True, text=True)
    again = subprocess.run(run, check=True, cwd=REPO_ROOT, capture_output=True, text=True)
    assert first.stdout.splitlines()[1] == "True"
    assert again.stdout.splitlines() == [first.stdout.splitlines()[0], "False"]
