"""Settings: command-line flags > ``THINK_*`` environment > TOML config file > defaults.

The config file lives in the platform's user config dir (``think config path``);
``THINK_CONFIG`` points elsewhere. Keys come from the providers' usual environment variables
(``OPENAI_API_KEY`` …) or ``[providers.NAME] api_key`` in the file; they are never printed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from think.config import defaults
from think.config.paths import DEFAULT_LEDGER_TIMEOUT, config_file
from think.errors import ConfigError
from think.money import MAX_USD
from think.pricing import PriceOverride
from think.providers.base import Effort

Origin = Literal["flag", "profile", "env", "file", "default"]


class ProviderSettings(BaseModel):
    """``[providers.NAME]``: override a preset or define a new OpenAI-compatible endpoint."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    protocol: str | None = None
    supports_n: bool | None = None
    usage_in_stream: Literal["include_usage", "always", "never"] | None = None
    max_tokens_field: Literal["max_completion_tokens", "max_tokens"] | None = None
    stream: bool | None = None
    local: bool | None = None
    price_provider: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="THINK_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    model: str | None = None
    """Model for single-model strategies; unset = an OpenAI key's default, else the local model."""
    cheap: str | None = None
    strong: str | None = None
    strategy: Literal["single", "reason", "vote", "cascade", "refine"] | None = None
    """Unset: ``cascade`` when the cheap and strong models differ, else ``single``."""
    samples: int = Field(default=defaults.SAMPLES, ge=1, le=64)
    """Samples for ``vote`` (``-n``)."""
    cascade_initial: int = Field(default=2, ge=1, le=64)
    """Cheap samples the cascade draws at once before sampling adaptively."""
    cascade_max_samples: int | None = Field(default=None, ge=1, le=64)
    """The most cheap samples a cascade draws (default 5; 4 with ``agreement``)."""
    agreement: float | None = Field(default=None, gt=0, le=1)
    """Share of ``cascade_max_samples`` that must agree to accept the cheap answer. Unset:
    the first 2 cheap answers must agree (3 for multiple choice and yes/no), then 3 of up to
    ``cascade_max_samples`` must agree."""
    verifier: Literal["none", "judge"] = defaults.VERIFIER
    judge: str | None = None
    """Model for the LLM judge (default: the cheap model)."""
    judge_samples: int = Field(default=3, ge=1, le=10)
    """Verdicts the judge samples per open answer (their share of PASS is ``p_accept``)."""
    accept_threshold: float = Field(default=defaults.ACCEPT_THRESHOLD, gt=0, le=1)
    """A cascade accepts an open answer when ``p_accept`` reaches this."""
    verify_cmd: str | None = None
    verify_timeout: float = Field(default=30.0, gt=0)
    rounds: int = Field(default=defaults.ROUNDS, ge=1, le=10)
    """Critique-and-revise rounds for ``refine``."""
    effort: Effort | None = None
    """Reasoning effort; unset: ``medium`` for the strong model. Set with a single-model
    strategy, it puts that model in reasoning mode (``single`` becomes ``reason``)."""
    answer_format: str = defaults.ANSWER_FORMAT
    max_cost: Decimal | None = Field(default=None, ge=0, le=MAX_USD, allow_inf_nan=False)
    max_tokens: int = Field(default=defaults.MAX_TOKENS, ge=1)
    tier: str | None = None
    """Service tier of every call (``--tier``): standard, flex or priority, or an ordered
    fallback list (``flex,standard``); unset: none asked (the provider's default)."""
    cheap_tier: str | None = None
    """The cheap samples' tier (cascade); unset: ``tier``."""
    strong_tier: str | None = None
    """The strong model's tier (the cascade's escalation); unset: ``tier``."""
    judge_tier: str | None = None
    """The judge's tier (verify calls); unset: ``tier``."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    system: str | None = None
    hide_reasoning: bool = False
    """Do not show reasoning text in the live view (``--hide-reasoning``)."""
    timeout: float = Field(default=120.0, gt=0)
    """Seconds to wait for the next bytes of a response before giving up."""
    connect_timeout: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    retry_base_delay: float = Field(default=0.5, ge=0)
    ledger: str | None = None
    """Ledger file, or a ``postgresql://`` URL for a team's database (``THINK_LEDGER``);
    default: a file under the platform's user data dir."""
    ledger_timeout: float = Field(default=DEFAULT_LEDGER_TIMEOUT, gt=0)
    """Seconds to wait for another process's ledger write before giving up."""
    daily_budget: Decimal | None = Field(default=None, ge=0, le=MAX_USD, allow_inf_nan=False)
    """USD that all runs of a local calendar day may spend together (``THINK_DAILY_BUDGET``)."""
    monthly_budget: Decimal | None = Field(default=None, ge=0, le=MAX_USD, allow_inf_nan=False)
    """USD that all runs of a local calendar month may spend together."""
    budget_timezone: str | None = None
    """Where the caps' days and months begin (``UTC``, ``Europe/Berlin``); unset: local
    time. A team sharing one ledger sets one clock."""
    user: str | None = Field(default=None, max_length=200)
    """Who the ledger records as running the runs (``THINK_USER``; ``think ledger --user``);
    unset: the login name."""
    host: str | None = Field(default=None, max_length=200)
    """The name this machine's runs are recorded under (``THINK_HOST``; ``think ledger
    --host``), and the host a reservation's lease belongs to; unset: the hostname. For
    containers and CI runners, whose hostnames change or repeat."""
    no_log: bool = False
    """Record costs and timings but no prompt, answer or reasoning (``--no-log``)."""
    reuse: bool | None = None
    """Answer from the ledger, at $0, when an identical run answered before (``--reuse``);
    unset: only where that cannot change the answer (temperature 0, strategy ``single``)."""
    reuse_max_age: str = defaults.REUSE_MAX_AGE
    """The oldest earlier answer to reuse: a duration (30m, 12h, 7d, 2w), as ``--since``."""
    aliases: dict[str, str] = Field(default_factory=dict)
    prices: dict[str, PriceOverride] = Field(default_factory=dict)
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    profile: str | None = None
    """Apply the settings of ``[profiles.NAME]`` (``--profile``; see ``think calibrate``)."""
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    replay_file: Path | None = None
    """Recorded answers served by ``replay:`` models (``THINK_REPLAY_FILE``)."""
    local_model_path: Path | None = None
    local_context: int = Field(default=2048, ge=256)
    local_threads: int | None = Field(default=None, ge=1)

    @field_validator("tier", "cheap_tier", "strong_tier", "judge_tier")
    @classmethod
    def _tiers(cls, value: str | None) -> str | None:
        from think.errors import UsageError
        from think.tiers import parse_tiers

        try:
            parse_tiers(value, "tier")
        except UsageError as exc:
            raise ValueError(str(exc).removeprefix("tier: ")) from None
        return value

    @field_validator("ledger", mode="before")
    @classmethod
    def _ledger(cls, value: Any) -> Any:
        return str(value) if hasattr(value, "__fspath__") else value

    @field_validator("user", "host")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None  # empty: the login name, the hostname
        if not value.isprintable():
            raise ValueError("a name is printable text (no control characters)")
        return value.strip()

    @field_validator("budget_timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        from think.periods import budget_zone

        if value is not None:
            budget_zone(value)  # a name the time-zone database does not know: ValueError
        return value

    @field_validator("reuse_max_age")
    @classmethod
    def _max_age(cls, value: str) -> str:
        from think.errors import UsageError
        from think.periods import parse_when

        try:
            parse_when(value, "reuse_max_age")
        except UsageError as exc:
            raise ValueError(str(exc).removeprefix("reuse_max_age: ")) from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _toml_source(settings_cls))


def _toml_source(settings_cls: type[BaseSettings]) -> TomlConfigSettingsSource:
    return TomlConfigSettingsSource(settings_cls, toml_file=config_file())


def _describe(error: ValidationError, where: str) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "settings"
    more = len(error.errors()) - 1
    suffix = f" (and {more} more)" if more else ""
    return f"invalid setting {location} ({where}): {first['msg']}{suffix}"


def load_settings(flags: Mapping[str, Any] | None = None) -> Settings:
    """Effective settings; ``flags`` holds only the options given on the command line."""
    given = {key: value for key, value in (flags or {}).items() if value is not None}
    try:
        settings = Settings(**given)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse config file {config_file()}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"cannot parse config file {config_file()}: not valid UTF-8 (byte {exc.start})"
        ) from exc
    except ValidationError as exc:
        raise ConfigError(_describe(exc, _where(exc, given))) from exc
    except SettingsError as exc:  # e.g. THINK_ALIASES that is not JSON
        raise ConfigError(f"invalid setting: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {config_file()}: {exc.strerror}") from exc
    if settings.profile:
        from think.config.profiles import profile_settings

        chosen = profile_settings(settings.profiles, settings.profile)
        wins = {key: value for key, value in chosen.items() if key not in given}
        settings = with_overrides(settings, wins, f"profile {settings.profile}")
    return settings


def with_overrides(settings: Settings, overrides: Mapping[str, Any], where: str) -> Settings:
    """``settings`` with ``overrides`` applied and validated (a grid setting, a profile)."""
    try:
        return Settings.model_validate({**settings.model_dump(), **overrides})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, where)) from exc


def _where(error: ValidationError, flags: Mapping[str, Any]) -> str:
    key = str(error.errors()[0]["loc"][0]) if error.errors()[0]["loc"] else ""
    origin = origins(flags).get(key, "file")
    return {
        "flag": f"--{key.replace('_', '-')}",
        "env": f"THINK_{key.upper()}",
        "file": str(config_file()),
        "profile": "profile",
        "default": "default",
    }[origin]


def origins(flags: Mapping[str, Any] | None = None) -> dict[str, Origin]:
    """Where each top-level setting's effective value comes from."""
    return {name: origin for name, (origin, _) in sources(flags).items()}


def sources(flags: Mapping[str, Any] | None = None) -> dict[str, tuple[Origin, str]]:
    """Each top-level setting's origin and, for people, exactly where: ``--max-tokens``,
    ``env THINK_MAX_TOKENS``, ``file PATH``, ``profile NAME`` or ``default``."""
    given = {key for key, value in (flags or {}).items() if value is not None}
    env = EnvSettingsSource(Settings, env_prefix="THINK_", env_nested_delimiter="__")()
    path = config_file()
    try:
        file_values = _toml_source(Settings)()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        file_values = {}
    profile = (flags or {}).get("profile") or env.get("profile") or file_values.get("profile")
    profiles = file_values.get("profiles") or {}
    chosen = profiles.get(profile, {}) if isinstance(profiles, dict) and profile else {}
    result: dict[str, tuple[Origin, str]] = {}
    for name in Settings.model_fields:
        if name in given:
            result[name] = ("flag", f"flag --{name.replace('_', '-')}")
        elif name in chosen:
            result[name] = ("profile", f"profile {profile}")
        elif name in env:
            result[name] = ("env", f"env {_env_name(name)}")
        elif name in file_values:
            result[name] = ("file", f"file {path}")
        else:
            result[name] = ("default", "default")
    return result


def _env_name(name: str) -> str:
    """The variable that sets ``name`` (matched as pydantic-settings does, ignoring case);
    ``THINK_NAME__*`` for a table set key by key."""
    import os

    wanted = f"think_{name}"
    for var in sorted(os.environ):
        if var.lower() == wanted:
            return var
    return f"THINK_{name.upper()}__*"
