"""Find the endpoint behind a provider name and build the provider that speaks to it.

A provider name is a preset (``openai``, ``llamacpp`` …), a ``[providers.NAME]`` table in the
config (a preset override, or a new OpenAI-compatible endpoint with ``base_url``), or a
protocol registered by a third-party package under the ``think.providers`` entry-point group.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from think.errors import ConfigError, UsageError
from think.providers.endpoint import Endpoint
from think.providers.presets import BASE_URL_ENV, PRESETS

if TYPE_CHECKING:
    import httpx

    from think.providers.base import Provider
    from think.providers.http import RetryPolicy, Timeouts
    from think.settings import ProviderSettings, Settings

ProviderFactory = Callable[["Endpoint", "Settings"], "Provider"]
ENTRY_POINT_GROUP = "think.providers"


def known_provider_names(settings: Settings) -> list[str]:
    return sorted({*PRESETS, *settings.providers})


def resolve_endpoint(name: str, settings: Settings) -> Endpoint:
    from think.settings import env_value

    configured = settings.providers.get(name)
    preset = PRESETS.get(name)
    if preset is None:
        if configured is None or not configured.base_url:
            known = ", ".join(known_provider_names(settings))
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
    key = None
    if configured is not None and configured.api_key is not None:
        key = configured.api_key.get_secret_value()
    key = key or env_value(*key_env)
    return dataclasses.replace(endpoint, api_key=key, key_env=key_env)


def _apply(endpoint: Endpoint, configured: ProviderSettings) -> Endpoint:
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


def retry_policy(settings: Settings) -> RetryPolicy:
    from think.providers.http import RetryPolicy

    return RetryPolicy(max_retries=settings.max_retries, base_delay=settings.retry_base_delay)


def timeouts(settings: Settings) -> Timeouts:
    from think.providers.http import Timeouts

    return Timeouts(connect=settings.connect_timeout, idle=settings.timeout)


HttpProviderClass = Callable[["Endpoint", "httpx.AsyncClient", "RetryPolicy"], "Provider"]


def _http_provider(cls: HttpProviderClass, endpoint: Endpoint, settings: Settings) -> Provider:
    from think.providers.http import make_client

    return cls(endpoint, make_client(timeouts(settings)), retry_policy(settings))


def _openai_chat(endpoint: Endpoint, settings: Settings) -> Provider:
    from think.providers.openai_chat import OpenAIChatProvider

    return _http_provider(OpenAIChatProvider, endpoint, settings)


def _anthropic_messages(endpoint: Endpoint, settings: Settings) -> Provider:
    from think.providers.anthropic_messages import AnthropicMessagesProvider

    return _http_provider(AnthropicMessagesProvider, endpoint, settings)


def _gemini(endpoint: Endpoint, settings: Settings) -> Provider:
    from think.providers.gemini import GeminiProvider

    return _http_provider(GeminiProvider, endpoint, settings)


def _llama_cpp_local(endpoint: Endpoint, settings: Settings) -> Provider:
    from think.providers.local_llama import LocalLlamaProvider

    return LocalLlamaProvider(endpoint, settings)


def _replay(endpoint: Endpoint, settings: Settings) -> Provider:
    from think.providers.replay import ReplayProvider

    return ReplayProvider(endpoint, settings)


BUILTIN_PROTOCOLS: dict[str, ProviderFactory] = {
    "openai-chat": _openai_chat,
    "anthropic-messages": _anthropic_messages,
    "gemini": _gemini,
    "llama-cpp-local": _llama_cpp_local,
    "replay": _replay,
}


def protocol_factory(protocol: str) -> ProviderFactory:
    factory = BUILTIN_PROTOCOLS.get(protocol)
    if factory is not None:
        return factory
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == protocol:
            loaded: ProviderFactory = entry.load()
            return loaded
    raise ConfigError(f"no provider implements protocol {protocol!r}")


def create_provider(name: str, settings: Settings) -> Provider:
    endpoint = resolve_endpoint(name, settings)
    return protocol_factory(endpoint.protocol)(endpoint, settings)
