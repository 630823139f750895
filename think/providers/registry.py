"""Find the endpoint behind a provider name and build the provider that speaks to it.

A provider name is a preset (``openai``, ``llamacpp`` …), a ``[providers.NAME]`` table in the
config (a preset override, or a new OpenAI-compatible endpoint with ``base_url``), or a
protocol registered by a third-party package under the ``think.providers`` entry-point group.
A protocol's factory is called as ``factory(endpoint, options)``
(:class:`~think.providers.options.ProviderOptions`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from think.errors import ConfigError, UsageError
from think.providers.credentials import userinfo_free
from think.providers.endpoint import Endpoint, EndpointConfig, env_value
from think.providers.options import ProviderOptions
from think.providers.presets import BASE_URL_ENV, PRESETS

if TYPE_CHECKING:
    import httpx

    from think.providers.base import Provider
    from think.providers.batch_jobs import BatchApi, Sleep
    from think.providers.options import RetryPolicy

ProviderFactory = Callable[["Endpoint", "ProviderOptions"], "Provider"]
ENTRY_POINT_GROUP = "think.providers"


class ProviderCatalog:
    """The providers a configuration knows: the presets and the ``[providers.NAME]`` tables,
    resolved to endpoints (keys from the config or the environment) and built on demand."""

    def __init__(
        self,
        configured: Mapping[str, EndpointConfig] | None = None,
        options: ProviderOptions | None = None,
    ) -> None:
        self.configured = dict(configured or {})
        self.options = options or ProviderOptions()

    def names(self) -> list[str]:
        return sorted({*PRESETS, *self.configured})

    def endpoint(self, name: str) -> Endpoint:
        configured = self.configured.get(name)
        preset = PRESETS.get(name)
        if preset is None:
            if configured is None or not configured.base_url:
                known = ", ".join(self.names())
                raise UsageError(
                    f"unknown provider {name!r} (known: {known}; or add [providers.{name}] "
                    "with base_url to the config)"
                )
            preset = Endpoint(name=name, protocol=configured.protocol or "openai-chat")
        endpoint = preset
        env_url = env_value(*BASE_URL_ENV[name]) if name in BASE_URL_ENV else None
        if env_url:
            endpoint = dataclasses.replace(endpoint, base_url=env_url)
        if configured is not None:
            endpoint = _apply(endpoint, configured)
        key_env = endpoint.key_env
        if configured is not None and configured.api_key_env:
            key_env = (configured.api_key_env,)
        key = configured.api_key if configured is not None else None
        key = key or env_value(*key_env)
        if endpoint.base_url and endpoint.protocol in HTTP_PROTOCOLS:
            _check_base_url(name, endpoint.base_url, from_env=bool(env_url))
        return dataclasses.replace(endpoint, api_key=key, key_env=key_env)

    def create(self, name: str) -> Provider:
        endpoint = self.endpoint(name)
        return protocol_factory(endpoint.protocol)(endpoint, self.options)

    def batch_api(self, name: str) -> BatchApi:
        """The batch API of provider ``name`` (``think batch status|cancel ID``)."""
        return open_batch_api(self.endpoint(name), self.options)


HTTP_PROTOCOLS = frozenset({"openai-chat", "anthropic-messages", "gemini"})
"""The built-in protocols that speak HTTP (a third-party protocol's URL is its own)."""


def _check_base_url(name: str, url: str, *, from_env: bool) -> None:
    """A base URL that is not http(s) with a host is a configuration error, found before
    anything is sent (it used to be retried as a connection failure)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname:
        return
    where = " or ".join(BASE_URL_ENV.get(name, ())) if from_env else f"providers.{name}.base_url"
    raise ConfigError(
        f"{where}: {userinfo_free(url)!r} is not an http(s) URL (e.g. https://host/v1)"
    )


def _apply(endpoint: Endpoint, configured: EndpointConfig) -> Endpoint:
    changes: dict[str, object] = {}
    for field in (
        "base_url",
        "protocol",
        "supports_n",
        "usage_in_stream",
        "max_tokens_field",
        "stream",
        "local",
        "price_provider",
    ):
        value = getattr(configured, field)
        if value is not None:
            changes[field] = value
    if configured.headers:
        changes["headers"] = {**endpoint.headers, **configured.headers}
    if endpoint.name not in PRESETS:
        # A new endpoint needs a key only when the config names where it comes from.
        changes["key_required"] = configured.api_key_env is not None
    return dataclasses.replace(endpoint, **changes)  # type: ignore[arg-type]


HttpProviderClass = Callable[["Endpoint", "httpx.AsyncClient", "RetryPolicy"], "Provider"]


def _http_provider(
    cls: HttpProviderClass, endpoint: Endpoint, options: ProviderOptions
) -> Provider:
    from think.providers.http import make_client

    return cls(endpoint, make_client(options.timeouts), options.retry)


def _openai_chat(endpoint: Endpoint, options: ProviderOptions) -> Provider:
    from think.providers.openai_chat import OpenAIChatProvider

    return _http_provider(OpenAIChatProvider, endpoint, options)


def _anthropic_messages(endpoint: Endpoint, options: ProviderOptions) -> Provider:
    from think.providers.anthropic_messages import AnthropicMessagesProvider

    return _http_provider(AnthropicMessagesProvider, endpoint, options)


def _gemini(endpoint: Endpoint, options: ProviderOptions) -> Provider:
    from think.providers.gemini import GeminiProvider

    return _http_provider(GeminiProvider, endpoint, options)


def _llama_cpp_local(endpoint: Endpoint, options: ProviderOptions) -> Provider:
    from think.providers.local_llama import LocalLlamaProvider

    return LocalLlamaProvider(endpoint, options.local)


def _replay(endpoint: Endpoint, options: ProviderOptions) -> Provider:
    from think.providers.replay import ReplayProvider

    return ReplayProvider(endpoint, options.replay_file)


BUILTIN_PROTOCOLS: dict[str, ProviderFactory] = {
    "openai-chat": _openai_chat,
    "anthropic-messages": _anthropic_messages,
    "gemini": _gemini,
    "llama-cpp-local": _llama_cpp_local,
    "replay": _replay,
}


def _openai_reasoning(endpoint: Endpoint, model: str) -> bool:
    from think.providers.openai_chat import is_reasoning_model

    return is_reasoning_model(endpoint, model)


def _anthropic_reasoning(endpoint: Endpoint, model: str) -> bool:
    from think.providers.anthropic_messages import thinking_mode

    return thinking_mode(model) is not None


def _gemini_reasoning(endpoint: Endpoint, model: str) -> bool:
    from think.providers.gemini import thinking_family

    return thinking_family(model) is not None


NATIVE_REASONING: dict[str, Callable[[Endpoint, str], bool]] = {
    "openai-chat": _openai_reasoning,
    "anthropic-messages": _anthropic_reasoning,
    "gemini": _gemini_reasoning,
}
"""Per built-in protocol, the rule its provider's ``capabilities(model).native_reasoning``
applies (the one ``--effort`` follows); the in-process and replay protocols have none."""


def native_reasoning(endpoint: Endpoint, model: str) -> bool:
    """Whether ``model`` has a native reasoning mode on ``endpoint`` (``--effort`` then uses
    it; otherwise a chain-of-thought prompt), without building the provider. A third-party
    protocol's models count as chain of thought here."""
    rule = NATIVE_REASONING.get(endpoint.protocol)
    return rule is not None and rule(endpoint, model)


def protocol_factory(protocol: str) -> ProviderFactory:
    factory = BUILTIN_PROTOCOLS.get(protocol)
    if factory is not None:
        return factory
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == protocol:
            loaded: ProviderFactory = entry.load()
            return loaded
    raise ConfigError(f"no provider implements protocol {protocol!r}")


BATCH_PROTOCOLS = frozenset({"openai-chat", "anthropic-messages"})
"""The protocols with a batch API (OpenAI's ``/v1/batches``, Anthropic's Message Batches)."""


def check_batch_api(endpoint: Endpoint) -> None:
    """A usage error, before anything is sent, for an endpoint without a batch API."""
    if endpoint.protocol not in BATCH_PROTOCOLS:
        raise UsageError(
            f"{endpoint.name}: no batch API for protocol {endpoint.protocol!r} "
            "(openai-chat and anthropic-messages have one)"
        )


def open_batch_api(
    endpoint: Endpoint, options: ProviderOptions, *, sleep: Sleep | None = None
) -> BatchApi:
    """The batch API of ``endpoint``: OpenAI's (``/v1/files`` + ``/v1/batches``) for the
    ``openai-chat`` protocol, Message Batches for ``anthropic-messages``; another protocol
    has none (a usage error). ``sleep`` replaces ``asyncio.sleep`` between retries."""
    import asyncio

    from think.providers.http import make_client

    check_batch_api(endpoint)
    if endpoint.protocol == "openai-chat":
        from think.providers.openai_batches import OpenAIBatches as api
    else:
        from think.providers.anthropic_batches import AnthropicBatches as api  # type: ignore[assignment]
    endpoint.check_key()
    client = make_client(options.timeouts)
    return api(endpoint, client, options.retry, sleep=sleep or asyncio.sleep)
