"""The ``anthropic`` and ``gemini`` presets: keys and base URLs from the SDKs' environment
variables, providers built by the registry, ``think models`` / ``think config show``, prices,
missing keys through the CLI, and the fixture inventories."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli_support import assert_one_error_line, run_cli
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.behaviours import DEFAULT_ANSWER, FIXTURES_ROOT
from tests.fakes.gemini_server import FakeGeminiServer
from tests.provider_support import MESSAGES, run_stream
from think.cli.wiring import provider_catalog
from think.config.settings import load_settings
from think.errors import ExitCode
from think.pricing import lookup_price
from think.providers.anthropic_messages import AnthropicMessagesProvider
from think.providers.base import ChatRequest
from think.providers.gemini import GeminiProvider
from think.providers.registry import protocol_factory

ANTHROPIC_KEY = "sk-ant-api03-env-0123456789abcdef"
GEMINI_KEY = "AIzaSyEnv-0123456789abcdefghijklmnop"


def test_anthropic_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, fake_anthropic: FakeAnthropicServer
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    endpoint = provider_catalog(load_settings()).endpoint("anthropic")
    assert (endpoint.protocol, endpoint.base_url) == ("anthropic-messages", fake_anthropic.base_url)
    assert endpoint.api_key == ANTHROPIC_KEY
    assert endpoint.key_required
    assert endpoint.price_provider == "anthropic"
    provider = provider_catalog(load_settings()).create("anthropic")
    assert isinstance(provider, AnthropicMessagesProvider)
    request = ChatRequest("claude-sonnet-4-5", MESSAGES, max_tokens=64)
    assert run_stream(provider, request).ok().text() == DEFAULT_ANSWER
    assert fake_anthropic.last_request.headers["x-api-key"] == ANTHROPIC_KEY


def test_anthropic_default_base_url_has_no_version() -> None:
    endpoint = provider_catalog(load_settings()).endpoint("anthropic")
    assert endpoint.base_url == "https://api.anthropic.com"
    assert endpoint.api_key is None


def test_gemini_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, fake_gemini: FakeGeminiServer
) -> None:
    monkeypatch.setenv("GEMINI_BASE_URL", fake_gemini.base_url)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    provider = provider_catalog(load_settings()).create("gemini")
    assert isinstance(provider, GeminiProvider)
    request = ChatRequest("gemini-2.5-flash", MESSAGES, max_tokens=64)
    assert run_stream(provider, request).ok().text() == DEFAULT_ANSWER
    assert fake_gemini.last_request.headers["x-goog-api-key"] == GEMINI_KEY


def test_gemini_key_and_base_url_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = provider_catalog(load_settings()).endpoint("gemini")
    assert endpoint.base_url == "https://generativelanguage.googleapis.com"
    assert endpoint.key_env == ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    assert endpoint.price_provider == "google"
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:9/sdk")
    endpoint = provider_catalog(load_settings()).endpoint("gemini")
    assert (endpoint.api_key, endpoint.base_url) == ("google-key", "http://127.0.0.1:9/sdk")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    monkeypatch.setenv("GEMINI_BASE_URL", "http://127.0.0.1:9/think")
    endpoint = provider_catalog(load_settings()).endpoint("gemini")
    assert (endpoint.api_key, endpoint.base_url) == ("gemini-key", "http://127.0.0.1:9/think")


def test_config_file_overrides_the_preset(
    monkeypatch: pytest.MonkeyPatch, config_path: Path
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/env")
    config_path.write_text(
        '[providers.anthropic]\nbase_url = "http://127.0.0.1:9/file"\n'
        'api_key = "sk-ant-file-123456"\n',
        encoding="utf-8",
    )
    endpoint = provider_catalog(load_settings()).endpoint("anthropic")
    assert endpoint.base_url == "http://127.0.0.1:9/file"
    assert endpoint.api_key == "sk-ant-file-123456"


def test_protocols_are_registered() -> None:
    assert protocol_factory("anthropic-messages") is not None
    assert protocol_factory("gemini") is not None


def test_models_lists_both(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    result = run_cli(["models", "--json"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    providers = {row["provider"]: row for row in result.json["providers"]}
    assert providers["anthropic"] == {
        "provider": "anthropic",
        "protocol": "anthropic-messages",
        "location": "https://api.anthropic.com",
        "key": "configured",
        "n_per_request": False,
        "local": False,
    }
    assert providers["gemini"]["protocol"] == "gemini"
    assert providers["gemini"]["key"] == "missing (GEMINI_API_KEY or GOOGLE_API_KEY)"
    assert ANTHROPIC_KEY not in result.out


def test_config_show_masks_the_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("GOOGLE_API_KEY", GEMINI_KEY)
    result = run_cli(["config", "show", "--json"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    keys = result.json["keys"]
    assert keys["ANTHROPIC_API_KEY"] == "sk-…cdef"
    assert keys["GOOGLE_API_KEY"] == "AIz…mnop"
    assert ANTHROPIC_KEY not in result.out
    assert GEMINI_KEY not in result.out


@pytest.mark.parametrize(
    ("model", "variable"),
    [
        ("anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
        ("gemini:gemini-2.5-flash", "GEMINI_API_KEY or GOOGLE_API_KEY"),
    ],
)
def test_missing_key_through_the_cli(
    model: str, variable: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(["-m", model, "--strategy", "single", "What is 2 + 2?"], capsys, monkeypatch)
    assert result.code == ExitCode.AUTH
    assert result.out == ""
    assert_one_error_line(result.err, f"no API key; set {variable}")


def test_prices_come_from_genai_prices() -> None:
    sonnet = lookup_price(
        "anthropic", "claude-sonnet-4-5", price_provider="anthropic", overrides={}
    )
    assert sonnet is not None
    assert sonnet.per_mtok() == (Decimal(3), Decimal("0.3"), Decimal(15))
    assert sonnet.cache_write is not None
    assert sonnet.cache_write.base == Decimal("3.75")
    assert sonnet.cache_write_1h is not None
    assert sonnet.cache_write_1h.base == Decimal(6)
    assert sonnet.tiered  # prompts above 200k tokens cost more
    flash = lookup_price("gemini", "gemini-2.5-flash", price_provider="google", overrides={})
    assert flash is not None
    assert flash.per_mtok() == (Decimal("0.3"), Decimal("0.03"), Decimal("2.5"))
    assert flash.reasoning is None  # thinking is billed as output
    long_form = lookup_price(
        "gemini", "models/gemini-2.5-flash", price_provider="google", overrides={}
    )
    assert long_form == flash


@pytest.mark.parametrize("vendor", ["anthropic", "gemini"])
def test_every_fixture_is_documented(vendor: str) -> None:
    folder = FIXTURES_ROOT / vendor
    readme = (folder / "README.md").read_text(encoding="utf-8")
    names = sorted(p.name for p in folder.iterdir() if p.name != "README.md")
    assert names
    for name in names:
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize(
    ("variable", "cheap", "strong"),
    [
        ("ANTHROPIC_API_KEY", "anthropic:claude-haiku-4-5", "anthropic:claude-sonnet-4-5"),
        ("GEMINI_API_KEY", "gemini:gemini-2.5-flash", "gemini:gemini-2.5-pro"),
        ("GOOGLE_API_KEY", "gemini:gemini-2.5-flash", "gemini:gemini-2.5-pro"),
        ("OPENAI_API_KEY", "openai:gpt-4.1-mini", "openai:o4-mini"),
    ],
)
def test_a_vendor_key_alone_picks_that_vendors_default_cascade(
    variable: str,
    cheap: str,
    strong: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(variable, "key-for-defaults-0123456789")
    result = run_cli(["--dry-run", "--json", "what is 2+2?"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    assert result.json["strategy"] == "cascade"
    # cheap samples, the judge of an open answer (the cheap model), the strong model
    assert [step["model"] for step in result.json["steps"]] == [cheap, cheap, strong]
    assert all(step["worst_usd"] is not None for step in result.json["steps"])  # priced


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
def test_think_models_and_effort_share_one_native_reasoning_rule(name: str) -> None:
    import asyncio

    from think.pricing import catalogue
    from think.providers.registry import native_reasoning

    catalog = provider_catalog(load_settings())
    endpoint = catalog.endpoint(name)
    provider = catalog.create(name)
    try:
        assert endpoint.price_provider is not None
        models = [price.model_id or "" for price in catalogue(endpoint.price_provider)]
        assert models
        for model in models:
            native = provider.capabilities(model).native_reasoning
            assert native_reasoning(endpoint, model) == native, model
    finally:
        asyncio.run(provider.aclose())
