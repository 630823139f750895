"""A resolved provider endpoint: a preset merged with the user's configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from think.errors import AuthError

MaxTokensField = Literal["max_completion_tokens", "max_tokens"]
UsageInStream = Literal["include_usage", "always", "never"]


@dataclass(frozen=True)
class Endpoint:
    name: str
    """The provider name used in model references (``openai`` in ``openai:gpt-4.1``)."""
    protocol: str
    """Wire protocol: ``openai-chat``, ``llama-cpp-local`` or one from an entry point."""
    base_url: str = ""
    api_key: str | None = None
    key_env: tuple[str, ...] = ()
    """Environment variables the key may come from (named in error messages)."""
    key_required: bool = True
    supports_n: bool = False
    usage_in_stream: UsageInStream = "include_usage"
    max_tokens_field: MaxTokensField = "max_tokens"
    stream: bool = True
    local: bool = False
    """Runs on the user's own machine: no per-token price unless configured."""
    price_provider: str | None = None
    """The genai-prices provider id for price look-ups."""
    own_models: str | None = None
    """Regex of the model ids of the vendor's own families. genai-prices prices other vendors'
    models under some providers (Claude on Vertex AI under ``google``); ``think models``
    lists only the catalogue models that match (``None``: every one)."""
    reasoning_models: str | None = None
    """Regex of model ids with a native reasoning mode (``reasoning_effort``)."""
    responses_models: str | None = None
    """Regex of model ids that only the Responses API serves (OpenAI's ``-pro`` models)."""
    headers: dict[str, str] = field(default_factory=dict)
    prices: tuple[tuple[str, float, float], ...] = ()
    """Built-in prices (model, input, output USD per million tokens); config overrides win."""
    model_path: str | None = None
    """For in-process models: the weights file."""
    service_tiers: tuple[str, ...] = ()
    """The service tiers besides standard the endpoint serves (``flex``, ``priority``: see
    :mod:`think.tiers`); none: a tier asked of it is a usage error, and nothing is sent for
    ``standard``."""

    def check_key(self) -> None:
        """Raise the :class:`AuthError` for a missing key (naming where it may come from)."""
        if self.key_required and not self.api_key:
            names = " or ".join(self.key_env) or f"providers.{self.name}.api_key"
            raise AuthError(f"{self.name}: no API key; set {names}")


@dataclass(frozen=True)
class EndpointConfig:
    """A user's ``[providers.NAME]`` table: a preset override, or a new OpenAI-compatible
    endpoint with ``base_url`` (``None`` everywhere = keep the preset's value)."""

    base_url: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    protocol: str | None = None
    supports_n: bool | None = None
    usage_in_stream: UsageInStream | None = None
    max_tokens_field: MaxTokensField | None = None
    stream: bool | None = None
    local: bool | None = None
    price_provider: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def env_value(*names: str) -> str | None:
    """The first non-empty environment variable among ``names``."""
    import os

    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None
