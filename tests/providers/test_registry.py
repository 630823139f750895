"""Provider names → endpoints → providers: presets, environment, config file, entry points."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.openai_server import DEFAULT_ANSWER, FakeOpenAIServer, server_error
from think.cli.wiring import provider_catalog
from think.config.settings import Settings, load_settings
from think.errors import AuthError, ConfigError, ExitCode, ProviderError, UsageError
from think.providers.base import ChatRequest, Message, Provider, TextDelta
from think.providers.openai_chat import OpenAIChatProvider
from think.providers.options import LocalModelOptions, ProviderOptions, RetryPolicy, Timeouts
from think.providers.presets import PRESETS
from think.providers.registry import ENTRY_POINT_GROUP, protocol_factory

REQUEST = ChatRequest(model="gpt-4o-mini", messages=(Message("user", "hi"),), max_tokens=32)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv
    srv.assert_no_errors()


WriteConfig = Callable[[str], None]


@pytest.fixture
def write_config(config_path: Path) -> WriteConfig:
    """Write the TOML config file that THINK_CONFIG points at (set by conftest)."""

    def write(text: str) -> None:
        config_path.write_text(textwrap.dedent(text), encoding="utf-8")

    return write


def answer_from(provider: Provider, request: ChatRequest = REQUEST) -> str:
    async def run() -> str:
        try:
            return "".join(
                [e.text async for e in provider.stream(request) if isinstance(e, TextDelta)]
            )
        finally:
            await provider.aclose()

    return asyncio.run(run())


# -- presets ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_resolve(name: str) -> None:
    endpoint = provider_catalog(load_settings()).endpoint(name)
    preset = PRESETS[name]
    assert endpoint.name == name
    assert endpoint.protocol == preset.protocol
    assert endpoint.base_url == preset.base_url
    assert endpoint.key_env == preset.key_env
    assert endpoint.api_key is None  # the test environment has no keys


def test_hosted_presets_require_a_key_and_local_ones_do_not() -> None:
    settings = load_settings()
    for name in ("openai", "openrouter", "deepseek", "groq", "together", "fireworks"):
        assert provider_catalog(settings).endpoint(name).key_required, name
    for name in ("llamacpp", "ollama", "vllm", "sglang", "local"):
        endpoint = provider_catalog(settings).endpoint(name)
        assert not endpoint.key_required, name
        assert endpoint.local, name


def test_preset_quirks() -> None:
    settings = load_settings()
    openai = provider_catalog(settings).endpoint("openai")
    assert openai.supports_n
    assert openai.max_tokens_field == "max_completion_tokens"
    assert openai.usage_in_stream == "include_usage"
    llamacpp = provider_catalog(settings).endpoint("llamacpp")
    assert not llamacpp.supports_n
    assert llamacpp.usage_in_stream == "always"
    assert provider_catalog(settings).endpoint("openrouter").usage_in_stream == "always"
    assert not provider_catalog(settings).endpoint("ollama").supports_n


def test_key_comes_from_the_preset_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test")
    monkeypatch.setenv("DEEPSEEK_API_KEY", "")  # empty counts as unset
    settings = load_settings()
    assert provider_catalog(settings).endpoint("openrouter").api_key == "sk-or-test"
    assert provider_catalog(settings).endpoint("deepseek").api_key is None


def test_openai_base_url_and_api_key_from_env(
    monkeypatch: pytest.MonkeyPatch, server: FakeOpenAIServer
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("THINK_RETRY_BASE_DELAY", "0.01")
    settings = load_settings()
    endpoint = provider_catalog(settings).endpoint("openai")
    assert endpoint.base_url == server.base_url
    assert endpoint.api_key == "sk-from-env"
    provider = provider_catalog(settings).create("openai")
    assert isinstance(provider, OpenAIChatProvider)
    assert answer_from(provider) == DEFAULT_ANSWER
    request = server.last_request
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-from-env"
    assert "max_completion_tokens" in request.json


def test_openai_base_url_does_not_leak_into_other_presets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    settings = load_settings()
    assert (
        provider_catalog(settings).endpoint("openrouter").base_url == PRESETS["openrouter"].base_url
    )
    assert provider_catalog(settings).endpoint("llamacpp").base_url == PRESETS["llamacpp"].base_url


def test_missing_openai_key_fails_before_any_request(
    monkeypatch: pytest.MonkeyPatch, server: FakeOpenAIServer
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    provider = provider_catalog(load_settings()).create("openai")
    with pytest.raises(AuthError, match="OPENAI_API_KEY") as info:
        answer_from(provider)
    assert info.value.exit_code == ExitCode.AUTH
    assert server.requests == []


def test_retry_settings_reach_the_provider(
    monkeypatch: pytest.MonkeyPatch, server: FakeOpenAIServer
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("THINK_MAX_RETRIES", "1")
    monkeypatch.setenv("THINK_RETRY_BASE_DELAY", "0.001")
    server.script(*[server_error()] * 5)
    provider = provider_catalog(load_settings()).create("openai")
    with pytest.raises(ProviderError, match="gave up after 2 attempts"):
        answer_from(provider)
    assert len(server.chat_requests) == 2


# -- [providers.NAME] in the config file ------------------------------------------------


def test_config_defines_a_new_openai_compatible_endpoint(
    write_config: WriteConfig, server: FakeOpenAIServer
) -> None:
    write_config(
        f"""
        retry_base_delay = 0.01

        [providers.mybox]
        base_url = "{server.base_url}"
        supports_n = true
        usage_in_stream = "always"
        max_tokens_field = "max_tokens"
        headers = {{ "X-Team" = "research" }}
        """
    )
    settings = load_settings()
    assert "mybox" in provider_catalog(settings).names()
    endpoint = provider_catalog(settings).endpoint("mybox")
    assert endpoint.protocol == "openai-chat"
    assert endpoint.base_url == server.base_url
    assert endpoint.supports_n
    assert endpoint.usage_in_stream == "always"
    assert not endpoint.key_required  # a self-hosted endpoint needs no key by default
    assert answer_from(provider_catalog(settings).create("mybox")) == DEFAULT_ANSWER
    request = server.last_request
    assert "authorization" not in request.headers
    assert request.headers["x-team"] == "research"
    assert request.json["max_tokens"] == 32
    assert "stream_options" not in request.json


def test_config_overrides_a_preset_base_url(
    write_config: WriteConfig, server: FakeOpenAIServer
) -> None:
    write_config(
        f"""
        [providers.llamacpp]
        base_url = "{server.base_url}"
        """
    )
    settings = load_settings()
    endpoint = provider_catalog(settings).endpoint("llamacpp")
    assert endpoint.base_url == server.base_url
    # The rest of the preset is kept.
    assert endpoint.usage_in_stream == "always"
    assert not endpoint.supports_n
    assert endpoint.local
    assert answer_from(provider_catalog(settings).create("llamacpp")) == DEFAULT_ANSWER
    assert len(server.chat_requests) == 1


def test_config_base_url_keeps_a_hosted_preset_key_requirement(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch, server: FakeOpenAIServer
) -> None:
    write_config(
        f"""
        [providers.openai]
        base_url = "{server.base_url}"
        """
    )
    settings = load_settings()
    endpoint = provider_catalog(settings).endpoint("openai")
    assert endpoint.base_url == server.base_url
    assert endpoint.key_required
    monkeypatch.setenv("OPENAI_API_KEY", "sk-after")
    assert provider_catalog(load_settings()).endpoint("openai").api_key == "sk-after"


def test_config_api_key_and_api_key_env(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(
        """
        [providers.groq]
        api_key_env = "MY_GROQ_KEY"

        [providers.together]
        api_key = "tg-in-file"
        """
    )
    monkeypatch.setenv("GROQ_API_KEY", "ignored")
    monkeypatch.setenv("MY_GROQ_KEY", "gq-from-custom-env")
    settings = load_settings()
    groq = provider_catalog(settings).endpoint("groq")
    assert groq.api_key == "gq-from-custom-env"
    assert groq.key_env == ("MY_GROQ_KEY",)
    assert provider_catalog(settings).endpoint("together").api_key == "tg-in-file"


def test_missing_key_error_names_the_configured_env_var(
    write_config: WriteConfig, server: FakeOpenAIServer
) -> None:
    write_config(
        f"""
        [providers.groq]
        base_url = "{server.base_url}"
        api_key_env = "MY_GROQ_KEY"
        """
    )
    provider = provider_catalog(load_settings()).create("groq")
    with pytest.raises(AuthError, match="MY_GROQ_KEY"):
        answer_from(provider)
    assert server.requests == []


# -- unknown names ----------------------------------------------------------------------


def test_unknown_provider_is_a_usage_error_listing_known_ones(write_config: WriteConfig) -> None:
    write_config(
        """
        [providers.mybox]
        base_url = "http://127.0.0.1:9/v1"
        """
    )
    settings = load_settings()
    with pytest.raises(UsageError) as info:
        provider_catalog(settings).endpoint("nosuch")
    message = str(info.value)
    assert "'nosuch'" in message
    for name in ("openai", "openrouter", "llamacpp", "ollama", "mybox"):
        assert name in message
    assert "[providers.nosuch]" in message
    assert info.value.exit_code == ExitCode.USAGE
    with pytest.raises(UsageError):
        provider_catalog(settings).create("nosuch")


def test_config_entry_without_base_url_is_not_a_new_provider(write_config: WriteConfig) -> None:
    write_config(
        """
        [providers.halfdone]
        supports_n = true
        """
    )
    with pytest.raises(UsageError, match="halfdone"):
        provider_catalog(load_settings()).endpoint("halfdone")


def test_unknown_protocol_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no-such-protocol"):
        protocol_factory("no-such-protocol")


# -- entry points -----------------------------------------------------------------------


def test_entry_point_group_name() -> None:
    assert ENTRY_POINT_GROUP == "think.providers"


PLUGIN = """
from think.providers.base import Capabilities, ResponseStarted, TextDelta


class EchoProvider:
    def __init__(self, endpoint, settings):
        self.name = endpoint.name
        self.endpoint = endpoint

    def capabilities(self, model):
        return Capabilities()

    async def stream(self, request):
        yield ResponseStarted()
        yield TextDelta(f"echo from {self.endpoint.base_url}: {request.messages[-1].content}")

    async def aclose(self):
        pass


def factory(endpoint, settings):
    return EchoProvider(endpoint, settings)
"""


def test_third_party_protocol_from_an_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_config: WriteConfig
) -> None:
    # A real installed distribution (dist-info on sys.path) registering a protocol.
    site = tmp_path / "site"
    dist_info = site / "think_echo_plugin-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: think-echo-plugin\nVersion: 0.1\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\necho-proto = think_echo_plugin_mod:factory\n", encoding="utf-8"
    )
    (site / "think_echo_plugin_mod.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    write_config(
        """
        [providers.echo]
        base_url = "echo://here"
        protocol = "echo-proto"
        """
    )
    try:
        settings: Settings = load_settings()
        provider = provider_catalog(settings).create("echo")
        assert isinstance(provider, Provider)
        assert provider.name == "echo"
        assert answer_from(provider) == "echo from echo://here: hi"
    finally:
        sys.modules.pop("think_echo_plugin_mod", None)


def test_custom_endpoint_with_api_key_env_requires_the_key(config_path: Path) -> None:
    from think.config.settings import load_settings

    config_path.write_text(
        '[providers.mylab]\nbase_url = "http://127.0.0.1:9/v1"\napi_key_env = "MYLAB_KEY"\n'
    )
    endpoint = provider_catalog(load_settings()).endpoint("mylab")
    assert endpoint.key_required
    assert endpoint.key_env == ("MYLAB_KEY",)


def test_factories_get_provider_options_made_from_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("THINK_TIMEOUT", "7")
    monkeypatch.setenv("THINK_CONNECT_TIMEOUT", "3")
    monkeypatch.setenv("THINK_MAX_RETRIES", "4")
    monkeypatch.setenv("THINK_LOCAL_CONTEXT", "512")
    options = provider_catalog(load_settings()).options
    assert options.timeouts == Timeouts(connect=3.0, idle=7.0)
    assert options.retry.max_retries == 4
    assert options.local.context == 512


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("timeout", 7.0),
        ("connect_timeout", 3.0),
        ("max_retries", 4),
        ("retry_base_delay", 0.1),
        ("local_model_path", None),
        ("local_context", 512),
        ("local_threads", 2),
    ],
)
def test_a_factory_written_for_settings_still_reads_its_attributes_and_is_warned(
    name: str, value: object
) -> None:
    options = ProviderOptions(
        timeouts=Timeouts(connect=3.0, idle=7.0),
        retry=RetryPolicy(max_retries=4, base_delay=0.1),
        local=LocalModelOptions(context=512, threads=2),
    )
    with pytest.warns(DeprecationWarning, match=f"{name} is deprecated"):
        assert getattr(options, name) == value


def test_options_have_no_other_settings_attributes() -> None:
    with pytest.raises(AttributeError):
        ProviderOptions().ledger  # noqa: B018  (the access is the test)
