"""Service tiers: ``--tier standard|flex|priority`` and the per-role ``cheap_tier``,
``strong_tier`` and ``judge_tier`` settings, as a policy the call runner applies.

A setting is one tier or an ordered fallback list (``flex,standard``: ask for flex, and when
the provider has no flex capacity for the request, ask again at standard). The tier a call
is *priced* at is the one the provider says it served (OpenAI's and Anthropic's
``service_tier`` echo, Gemini's ``x-gemini-service-tier`` header), never the one asked for.

Each protocol maps think's names onto its own (:data:`WIRE`): an endpoint lists the tiers
it has (:attr:`think.providers.endpoint.Endpoint.service_tiers`); asking one without that
tier is a usage error before anything is sent (:func:`check_tiers`). ``standard`` is every
endpoint's tier: on one without tiers nothing is sent for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from think.errors import UsageError

Tier = Literal["standard", "flex", "priority"]
TIERS: tuple[Tier, ...] = ("standard", "flex", "priority")
STANDARD: Tier = "standard"
BATCH = "batch"
"""The served "tier" of an answer that came through a provider's batch API (never asked for
with ``--tier``): priced at the batch discount (:func:`think.tiers.prices.batch_price`)."""
BATCH_REREAD = "batch-reread"
"""A batch answer read again from a job whose results an interrupted ``think batch`` already
recorded (the provider billed it once, and the ledger counts it there): priced at $0."""

Role = Literal["cheap", "strong", "judge", "other"]
ROLE_OF_STAGE: dict[str, Role] = {"cheap": "cheap", "escalate": "strong", "verify": "judge"}
"""Which role's tier a stage's calls use (names, not imports: a single run does not load the
cascade); every other stage (``answer``, ``vote``, ``draft`` …) uses ``tier``."""

WIRE: dict[str, dict[str, str]] = {
    "openai-chat": {"standard": "default", "flex": "flex", "priority": "priority"},
    "anthropic-messages": {"standard": "standard_only", "priority": "auto"},
    "gemini": {"standard": "standard", "flex": "flex", "priority": "priority"},
}
"""What each protocol's request says for a tier: OpenAI's ``service_tier`` (``default`` is
standard processing; ``auto`` would be the project's default, which may be another tier),
Anthropic's ``service_tier`` (``auto`` uses Priority Tier capacity when the organisation has
it, ``standard_only`` never does; there is no flex), Gemini's ``serviceTier``."""

SERVED_NAMES: dict[str, str] = {"default": STANDARD, "standard_only": STANDARD}
"""Echoed names that mean standard processing; other echoes are kept as sent (``flex``,
``priority``, ``scale``, ``batch`` …) and priced under that name."""


def served_name(value: object) -> str | None:
    """think's name for a tier a provider echoed (None: not a tier name)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 32:
        return None
    name = value.strip().lower()
    if name.startswith("service_tier_"):  # Gemini's enum spelling
        name = name.removeprefix("service_tier_")
    return SERVED_NAMES.get(name, name)


def parse_tiers(value: str | None, where: str = "--tier") -> tuple[Tier, ...]:
    """``"flex,standard"`` → ``("flex", "standard")``; unset → ``()`` (no tier asked)."""
    if value is None or not value.strip():
        return ()
    found: list[Tier] = []
    for part in value.split(","):
        name = part.strip().lower()
        tier = next((t for t in TIERS if t == name), None)
        if tier is None:
            raise UsageError(f"{where}: unknown tier {part.strip()!r} (standard, flex, priority)")
        if tier in found:
            raise UsageError(f"{where}: {tier} is listed twice")
        found.append(tier)
    return tuple(found)


@dataclass(frozen=True)
class TierPolicy:
    """The tiers each role's calls ask for, in fallback order (empty: none asked)."""

    by_role: Mapping[Role, tuple[Tier, ...]] = field(default_factory=dict)

    def for_stage(self, stage: str) -> tuple[Tier, ...]:
        role = ROLE_OF_STAGE.get(stage, "other")
        return self.by_role.get(role) or ()

    def __bool__(self) -> bool:
        return any(self.by_role.values())


def wire_value(protocol: str, tier: Tier) -> str | None:
    """What ``protocol``'s request says for ``tier`` (None: nothing is sent)."""
    return WIRE.get(protocol, {}).get(tier)


def check_tiers(
    provider: str, protocol: str, offered: Iterable[str], tiers: Iterable[Tier], where: str
) -> None:
    """A usage error when ``provider`` lacks a tier asked of it: asking for flex and paying
    standard without a word is what a user of tiers least wants."""
    has = {STANDARD, *offered}
    for tier in tiers:
        if tier not in has or (tier != STANDARD and wire_value(protocol, tier) is None):
            listed = ", ".join(t for t in TIERS if t in has)
            raise UsageError(
                f"{where}: {provider} has no {tier} tier (its tiers: {listed}); "
                "choose another tier or model"
            )
