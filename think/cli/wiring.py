"""The composition root: effective settings in, the plain objects the layers below need out.

Nothing under ``think/providers``, ``think/strategies``, ``think/ledger`` or
``think/evaluate`` sees :class:`~think.config.settings.Settings`: they get a provider
catalog and its options, a strategy spec, query options, a ledger path and timeout, spending
caps and a price lookup, all made here. Which models a configuration means (the first vendor
whose key is set, else the embedded local model) is decided here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from think.config import defaults
from think.errors import ConfigError, UsageError
from think.model_ref import ModelRef, parse_model_ref
from think.providers.endpoint import env_value

if TYPE_CHECKING:
    from think.config.settings import Settings
    from think.ledger.caps import Caps
    from think.ledger.store import Ledger
    from think.plan import PlanStep, StepPricing
    from think.pricing import ModelPrice
    from think.providers.base import Effort
    from think.providers.endpoint import Endpoint
    from think.providers.options import ProviderOptions
    from think.providers.registry import ProviderCatalog
    from think.strategies.base import QueryOptions, Strategy
    from think.strategies.factory import StrategySpec
    from think.tiers import TierPolicy

DEFAULT_EFFORT: Effort = defaults.EFFORT
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


# -- models and strategy ------------------------------------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    """A model and why it is the one: ``setting`` names the setting it was taken from
    (``None``: a default); ``key`` is the key variable whose vendor's default it is."""

    model: str
    setting: str | None = None
    key: str | None = None


def _vendor_defaults() -> tuple[str, str, str] | None:
    """The first set key variable and its vendor's cheap and strong models."""
    for names, cheap, strong in VENDOR_DEFAULTS:
        for name in names:
            if env_value(name):
                return name, cheap, strong
    return None


def default_choice(settings: Settings) -> ModelChoice:
    """The configured model; else the cheap model of the first vendor with a key (OpenAI,
    Anthropic, Gemini); else the embedded local model."""
    from think.providers.local_llama import SETUP_HINT, local_runtime_available

    if settings.model:
        return ModelChoice(settings.model, "model")
    vendor = _vendor_defaults()
    if vendor is not None:
        return ModelChoice(vendor[1], key=vendor[0])
    if local_runtime_available():
        return ModelChoice(LOCAL_MODEL)
    raise ConfigError(SETUP_HINT)


def cheap_choice(settings: Settings) -> ModelChoice:
    return ModelChoice(settings.cheap, "cheap") if settings.cheap else default_choice(settings)


def strong_choice(settings: Settings) -> ModelChoice:
    """The configured strong model; else, with no model configured, the strong model of the
    first vendor with a key; else the default model."""
    if settings.strong:
        return ModelChoice(settings.strong, "strong")
    vendor = _vendor_defaults()
    if not settings.model and vendor is not None:
        return ModelChoice(vendor[2], key=vendor[0])
    return default_choice(settings)


def default_model(settings: Settings) -> str:
    return default_choice(settings).model


def cheap_model(settings: Settings) -> ModelRef:
    return parse_model_ref(cheap_choice(settings).model, settings.aliases)


def strong_model(settings: Settings) -> ModelRef:
    choice = strong_choice(settings)
    return parse_model_ref(choice.model, None if choice.key else settings.aliases)


def strategy_name(settings: Settings) -> str:
    """The configured strategy; by default a cascade when there are two models to cascade
    between, else a single answer."""
    if settings.strategy:
        return settings.strategy
    return "cascade" if cheap_model(settings) != strong_model(settings) else "single"


def strategy_spec(settings: Settings) -> StrategySpec:
    from think.strategies.factory import StrategySpec

    name = strategy_name(settings)
    if name == "single" and settings.effort is not None:
        name = "reason"  # an explicit effort is never dropped: it applies to the one model
    if name in ("single", "reason"):
        model = parse_model_ref(default_model(settings), settings.aliases)
    else:
        model = cheap_model(settings)
    judge = None
    if settings.verifier == "judge" and name in ("cascade", "refine"):
        judge = parse_model_ref(settings.judge, settings.aliases) if settings.judge else model
    return StrategySpec(
        name=name,  # type: ignore[arg-type]  # validated by Settings
        model=model,
        strong=strong_model(settings) if name == "cascade" else None,
        samples=settings.samples,
        cascade_initial=settings.cascade_initial,
        agreement=settings.agreement,
        cascade_max_samples=settings.cascade_max_samples,
        judge=judge,
        verify_cmd=settings.verify_cmd,
        verify_timeout=settings.verify_timeout,
        rounds=settings.rounds,
        open_judge=parse_model_ref(settings.judge, settings.aliases) if settings.judge else None,
        judge_samples=settings.judge_samples,
        accept_threshold=settings.accept_threshold,
    )


def build_strategy(settings: Settings, *, in_grid: bool = False) -> Strategy:
    """The strategy the settings describe; for a query (not ``in_grid``) a ``verify_cmd``
    it cannot use is a usage error."""
    from think.strategies.factory import build_strategy as build
    from think.strategies.factory import check_verify_cmd

    spec = strategy_spec(settings)
    if not in_grid:
        check_verify_cmd(spec)
    return build(spec)


def query_options(settings: Settings) -> QueryOptions:
    from think.strategies.answers import parse_answer_format
    from think.strategies.base import QueryOptions

    try:
        fmt = parse_answer_format(settings.answer_format)
    except ValueError as exc:
        raise UsageError(f"--answer-format: {exc}") from exc
    return QueryOptions(
        settings.max_tokens,
        settings.temperature,
        settings.system,
        answer_format=fmt,
        effort=settings.effort or DEFAULT_EFFORT,
    )


# -- providers and prices -----------------------------------------------------------------


def provider_options(settings: Settings) -> ProviderOptions:
    from think.providers.options import (
        LocalModelOptions,
        ProviderOptions,
        RetryPolicy,
        Timeouts,
    )

    return ProviderOptions(
        timeouts=Timeouts(connect=settings.connect_timeout, idle=settings.timeout),
        retry=RetryPolicy(max_retries=settings.max_retries, base_delay=settings.retry_base_delay),
        local=LocalModelOptions(
            path=settings.local_model_path,
            context=settings.local_context,
            threads=settings.local_threads,
        ),
        replay_file=settings.replay_file,
    )


def provider_catalog(settings: Settings) -> ProviderCatalog:
    from think.providers.endpoint import EndpointConfig
    from think.providers.registry import ProviderCatalog

    configured = {}
    for name, table in settings.providers.items():
        values = table.model_dump()
        values["api_key"] = table.api_key.get_secret_value() if table.api_key else None
        configured[name] = EndpointConfig(**values)
    return ProviderCatalog(configured, provider_options(settings))


def endpoint_identity(settings: Settings, endpoint: Endpoint) -> str:
    """How ``endpoint`` serves its models, for a run's fingerprint: its protocol and base URL,
    and for an in-process model its weights and context, for replays the file replayed
    (never a key or a header)."""
    parts = [endpoint.name, endpoint.protocol, endpoint.base_url, endpoint.model_path or ""]
    if endpoint.protocol == "llama-cpp-local":
        parts += [str(settings.local_model_path or ""), str(settings.local_context)]
    elif endpoint.protocol == "replay":
        parts.append(str(settings.replay_file or ""))
    return " ".join(parts)


def price_lookup(
    settings: Settings, catalog: ProviderCatalog | None = None
) -> Callable[[ModelRef], ModelPrice | None]:
    """Each model's price: the config's ``[prices]``, then an endpoint's built-in prices,
    then genai-prices (looked up once per model)."""
    from think.pricing import PriceOverride, lookup_price

    providers = catalog or provider_catalog(settings)

    @cache
    def price_for(ref: ModelRef) -> ModelPrice | None:
        endpoint = providers.endpoint(ref.provider)
        builtin = {
            f"{endpoint.name}:{model}": PriceOverride(input_mtok=i, output_mtok=o)
            for model, i, o in endpoint.prices
        }
        return lookup_price(
            ref.provider,
            ref.model,
            price_provider=endpoint.price_provider,
            overrides={**builtin, **settings.prices},
            local=endpoint.local,
        )

    return price_for


def unpriced_models(
    steps: Iterable[PlanStep], price_for: Callable[[ModelRef], ModelPrice | None]
) -> list[ModelRef]:
    """The models a plan's steps may call whose price is unknown (not local, not in the
    catalogue, not in ``[prices]``): for the run's warning and the dry run's note."""
    refs = {step.model for step in steps}
    return sorted((ref for ref in refs if price_for(ref) is None), key=str)


def tier_policy(settings: Settings) -> TierPolicy:
    """The tiers each role asks for: its own setting (``cheap_tier`` …), else ``tier``."""
    from think.tiers import TierPolicy, parse_tiers

    base = parse_tiers(settings.tier, "tier")
    return TierPolicy(
        {
            "cheap": parse_tiers(settings.cheap_tier, "cheap_tier") or base,
            "strong": parse_tiers(settings.strong_tier, "strong_tier") or base,
            "judge": parse_tiers(settings.judge_tier, "judge_tier") or base,
            "other": base,
        }
    )


def check_tiers(policy: TierPolicy, steps: Iterable[PlanStep], catalog: ProviderCatalog) -> None:
    """A usage error, before anything is sent, for a tier a step's provider lacks."""
    from think.tiers import check_tiers as check

    for step in steps:
        endpoint = catalog.endpoint(step.model.provider)
        tiers = policy.for_stage(step.stage)
        check(
            endpoint.name, endpoint.protocol, endpoint.service_tiers, tiers, f"tier of {step.model}"
        )


def tier_price_lookup(
    settings: Settings, catalog: ProviderCatalog
) -> Callable[[ModelRef, str], ModelPrice | None]:
    """Each model's price at a tier other than standard (:mod:`think.tiers.prices`)."""
    from think.tiers.prices import tier_price

    standard = price_lookup(settings, catalog)

    @cache
    def at(ref: ModelRef, tier: str) -> ModelPrice | None:
        return tier_price(
            ref.provider,
            ref.model,
            tier,
            standard=standard(ref),
            price_provider=catalog.endpoint(ref.provider).price_provider,
            overrides=settings.prices,
        )

    return at


def step_pricing(settings: Settings, catalog: ProviderCatalog) -> tuple[StepPricing, list[str]]:
    """How the dry run prices each step at its tiers, and the notes it says of tiers whose
    price is unknown (priced at standard, as the run reserves and records them)."""
    from think.plan import StepPrices
    from think.tiers import STANDARD
    from think.tiers.prices import reservation_price

    policy = tier_policy(settings)
    standard_of = price_lookup(settings, catalog)
    tier_of = tier_price_lookup(settings, catalog)
    notes: list[str] = []

    def priced(step: PlanStep) -> StepPrices:
        standard = standard_of(step.model)
        tiers = policy.for_stage(step.stage)
        if not tiers:
            return StepPrices(standard, standard)
        first = tiers[0]
        asked = standard if first == STANDARD else tier_of(step.model, first)
        if asked is None and standard is not None:
            note = f"{first} price unknown for {step.model}: priced at standard"
            if note not in notes:
                notes.append(note)
        return StepPrices(reservation_price(standard, asked), asked or standard, ",".join(tiers))

    return priced, notes


# -- the ledger and the caps --------------------------------------------------------------


def open_ledger(settings: Settings) -> Ledger:
    from think.ledger.abandoned import use_host
    from think.ledger.store import open_ledger as open_at

    use_host(settings.host)
    return open_at(settings.ledger, settings.ledger_timeout, settings.user)


def spending_caps(settings: Settings) -> Caps:
    from think.ledger.caps import Caps

    return Caps(
        daily=settings.daily_budget,
        monthly=settings.monthly_budget,
        timezone=settings.budget_timezone,
    )
