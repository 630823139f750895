"""Build the strategy a command line asks for, from the effective settings."""

from __future__ import annotations

from think.errors import ConfigError, UsageError
from think.model_ref import ModelRef, parse_model_ref
from think.settings import Settings, env_value
from think.strategies.base import Strategy

DEFAULT_OPENAI_CHEAP = "openai:gpt-4.1-mini"
DEFAULT_OPENAI_STRONG = "openai:o4-mini"
LOCAL_MODEL = "local:smollm2"
VENDOR_DEFAULTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("OPENAI_API_KEY",), DEFAULT_OPENAI_CHEAP, DEFAULT_OPENAI_STRONG),
    (("ANTHROPIC_API_KEY",), "anthropic:claude-haiku-4-5", "anthropic:claude-sonnet-4-5"),
    (("GEMINI_API_KEY", "GOOGLE_API_KEY"), "gemini:gemini-2.5-flash", "gemini:gemini-2.5-pro"),
)
"""The cheap and strong models used when none is configured, by the first vendor whose key
variable is set."""


def _vendor_defaults() -> tuple[str, str] | None:
    for names, cheap, strong in VENDOR_DEFAULTS:
        if env_value(*names):
            return cheap, strong
    return None


def default_model(settings: Settings) -> str:
    """The configured model; else the cheap model of the first vendor with a key (OpenAI,
    Anthropic, Gemini); else the embedded local model."""
    from think.providers.local_llama import SETUP_HINT, local_runtime_available

    if settings.model:
        return settings.model
    vendor = _vendor_defaults()
    if vendor is not None:
        return vendor[0]
    if local_runtime_available():
        return LOCAL_MODEL
    raise ConfigError(SETUP_HINT)


def cheap_model(settings: Settings) -> ModelRef:
    return parse_model_ref(settings.cheap or default_model(settings), settings.aliases)


def strong_model(settings: Settings) -> ModelRef:
    if settings.strong:
        return parse_model_ref(settings.strong, settings.aliases)
    vendor = _vendor_defaults()
    if not settings.model and vendor is not None:
        return parse_model_ref(vendor[1])
    return parse_model_ref(default_model(settings), settings.aliases)


def strategy_name(settings: Settings) -> str:
    """The configured strategy; by default a cascade when there are two models to cascade
    between, else a single answer."""
    if settings.strategy:
        return settings.strategy
    return "cascade" if cheap_model(settings) != strong_model(settings) else "single"


def build_strategy(settings: Settings) -> Strategy:
    name = strategy_name(settings)
    if name in ("single", "reason"):
        from think.strategies.single import Single

        model = parse_model_ref(default_model(settings), settings.aliases)
        return Single(model, reasoning=name == "reason")
    if name == "vote":
        from think.strategies.vote import Vote

        return Vote(cheap_model(settings), settings.samples)
    cheap = cheap_model(settings)
    verifier = build_verifier(settings, cheap)
    if name == "refine":
        from think.strategies.refine import Refine

        if verifier is None:
            raise UsageError("refine needs a verifier: --verifier judge or --verify-cmd CMD")
        return Refine(cheap, verifier, settings.rounds)
    from think.strategies.cascade import Cascade, CascadePolicy

    policy = CascadePolicy(
        settings.cascade_initial, settings.agreement, settings.cascade_max_samples
    )
    if settings.cascade_initial > policy.most_samples:
        raise UsageError("cascade_initial cannot exceed the cascade's most samples")
    if policy.agreement is None and policy.most_samples < policy.MIN_DEFAULT_SAMPLES:
        raise UsageError(
            f"cascade_max_samples must be at least {policy.MIN_DEFAULT_SAMPLES} for the "
            "default cascade rule; for fewer, set agreement (k of m)"
        )
    return Cascade(cheap, strong_model(settings), policy, verifier)


def build_verifier(settings: Settings, cheap: ModelRef):  # type: ignore[no-untyped-def]
    from think.strategies.verifiers import CommandVerifier, JudgeVerifier

    if settings.verify_cmd:
        return CommandVerifier.parse(settings.verify_cmd, settings.verify_timeout)
    if settings.verifier == "judge":
        judge = parse_model_ref(settings.judge, settings.aliases) if settings.judge else cheap
        return JudgeVerifier(judge)
    return None
