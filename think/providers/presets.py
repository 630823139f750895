"""Named presets: the providers think knows by name, with their base URLs and quirks.

Quirks come from ../shared/PROVIDERS.md (section 6): which servers accept ``n > 1``, which
send usage in streams, which field carries the output-token limit. ``anthropic`` and
``gemini`` speak their vendors' native protocols (sections 4 and 5); their base URLs stop
before the API version (``/v1``, ``/v1beta``), as the official SDKs' do.
"""

from __future__ import annotations

from think.providers.endpoint import Endpoint

OPENAI_REASONING = r"^(o\d|gpt-5(?!-chat)|codex-mini)"
OPENAI_RESPONSES_ONLY = (
    r"^(o1-pro|o3-pro|gpt-5(\.\d+)?-pro|o3-deep-research|o4-mini-deep-research|codex-mini)"
)
"""Models OpenAI serves only through the Responses API."""

PRESETS: dict[str, Endpoint] = {
    preset.name: preset
    for preset in (
        Endpoint(
            name="openai",
            protocol="openai-chat",
            base_url="https://api.openai.com/v1",
            key_env=("OPENAI_API_KEY",),
            supports_n=True,
            max_tokens_field="max_completion_tokens",
            price_provider="openai",
            reasoning_models=OPENAI_REASONING,
            responses_models=OPENAI_RESPONSES_ONLY,
            service_tiers=("flex", "priority"),
        ),
        Endpoint(
            name="anthropic",
            protocol="anthropic-messages",
            base_url="https://api.anthropic.com",
            key_env=("ANTHROPIC_API_KEY",),
            usage_in_stream="always",
            price_provider="anthropic",
            own_models=r"^claude-",
            service_tiers=("priority",),
        ),
        Endpoint(
            name="gemini",
            protocol="gemini",
            base_url="https://generativelanguage.googleapis.com",
            key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
            usage_in_stream="always",
            price_provider="google",
            own_models=r"^(gemini|gemma)-",
            service_tiers=("flex", "priority"),
        ),
        Endpoint(
            name="openrouter",
            protocol="openai-chat",
            base_url="https://openrouter.ai/api/v1",
            key_env=("OPENROUTER_API_KEY",),
            usage_in_stream="always",
            price_provider="openrouter",
        ),
        Endpoint(
            name="together",
            protocol="openai-chat",
            base_url="https://api.together.xyz/v1",
            key_env=("TOGETHER_API_KEY",),
            price_provider="together",
        ),
        Endpoint(
            name="fireworks",
            protocol="openai-chat",
            base_url="https://api.fireworks.ai/inference/v1",
            key_env=("FIREWORKS_API_KEY",),
            supports_n=True,
            price_provider="fireworks",
        ),
        Endpoint(
            name="groq",
            protocol="openai-chat",
            base_url="https://api.groq.com/openai/v1",
            key_env=("GROQ_API_KEY",),
            price_provider="groq",
        ),
        Endpoint(
            name="deepseek",
            protocol="openai-chat",
            base_url="https://api.deepseek.com",
            key_env=("DEEPSEEK_API_KEY",),
            price_provider="deepseek",
        ),
        Endpoint(
            name="vllm",
            protocol="openai-chat",
            base_url="http://localhost:8000/v1",
            key_env=("VLLM_API_KEY",),
            key_required=False,
            supports_n=True,
            local=True,
        ),
        Endpoint(
            name="sglang",
            protocol="openai-chat",
            base_url="http://localhost:30000/v1",
            key_env=("SGLANG_API_KEY",),
            key_required=False,
            supports_n=True,
            local=True,
        ),
        Endpoint(
            name="llamacpp",
            protocol="openai-chat",
            base_url="http://localhost:8080/v1",
            key_env=("LLAMACPP_API_KEY",),
            key_required=False,
            usage_in_stream="always",
            local=True,
        ),
        Endpoint(
            name="ollama",
            protocol="openai-chat",
            base_url="http://localhost:11434/v1",
            key_env=("OLLAMA_API_KEY",),
            key_required=False,
            local=True,
        ),
        Endpoint(
            name="replay",
            protocol="replay",
            key_required=False,
            usage_in_stream="always",
            # The 2023 list prices the recorded costs were computed with.
            prices=(("gpt-3.5-turbo", 1.50, 2.00), ("gpt-4", 30.0, 60.0)),
        ),
        Endpoint(
            name="local",
            protocol="llama-cpp-local",
            key_required=False,
            usage_in_stream="always",
            local=True,
        ),
    )
}

BASE_URL_ENV: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_BASE_URL",),
    "anthropic": ("ANTHROPIC_BASE_URL",),
    "gemini": ("GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL"),
}
"""Presets whose base URL an SDK-standard environment variable overrides (first set wins)."""
