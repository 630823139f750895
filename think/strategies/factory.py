"""Build a strategy from a plain description of it (:class:`StrategySpec`).

Which models a configuration means (defaults by the keys that are set, aliases) is decided
by the CLI's composition root (:mod:`think.cli.wiring`); this module only assembles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from think.errors import UsageError
from think.model_ref import ModelRef
from think.strategies.base import Strategy

if TYPE_CHECKING:
    from think.strategies.verifiers import Verifier

StrategyName = Literal["single", "reason", "vote", "cascade", "refine"]


@dataclass(frozen=True)
class StrategySpec:
    name: StrategyName
    model: ModelRef
    """The answering model of single, reason and vote; the cheap model of cascade and refine."""
    strong: ModelRef | None = None
    """The model a cascade escalates to."""
    samples: int = 5
    cascade_initial: int = 2
    agreement: float | None = None
    cascade_max_samples: int | None = None
    judge: ModelRef | None = None
    """The judge verifier's model (``None``: no judge)."""
    verify_cmd: str | None = None
    verify_timeout: float = 30.0
    rounds: int = 2
    open_judge: ModelRef | None = None
    """The model that grades a cascade's open answers (``None``: the cheap model)."""
    judge_samples: int = 3
    accept_threshold: float = 0.66


VERIFYING_STRATEGIES = ("cascade", "refine")
"""The strategies that check an answer, so the only ones a ``--verify-cmd`` can serve."""


def check_verify_cmd(spec: StrategySpec) -> None:
    """A query's ``--verify-cmd`` must serve its strategy: a usage error where it cannot (an
    eval grid, which compares strategies, gives it to those that use it)."""
    if spec.verify_cmd and spec.name not in VERIFYING_STRATEGIES:
        raise UsageError(
            f"--verify-cmd is used by the {' and '.join(VERIFYING_STRATEGIES)} strategies, "
            f"not by {spec.name}: choose --strategy cascade or refine, or leave it out"
        )


def build_strategy(spec: StrategySpec) -> Strategy:
    if spec.name in ("single", "reason"):
        from think.strategies.single import Single

        return Single(spec.model, reasoning=spec.name == "reason")
    if spec.name == "vote":
        from think.strategies.vote import Vote

        return Vote(spec.model, spec.samples)
    verifier = build_verifier(spec)
    if spec.name == "refine":
        from think.strategies.refine import Refine

        if verifier is None:
            raise UsageError("refine needs a verifier: --verifier judge or --verify-cmd CMD")
        return Refine(spec.model, verifier, spec.rounds)
    from think.strategies.cascade import Cascade, CascadePolicy

    policy = CascadePolicy(spec.cascade_initial, spec.agreement, spec.cascade_max_samples)
    if spec.cascade_initial > policy.most_samples:
        raise UsageError("cascade_initial cannot exceed the cascade's most samples")
    if policy.agreement is None and policy.most_samples < policy.MIN_DEFAULT_SAMPLES:
        raise UsageError(
            f"cascade_max_samples must be at least {policy.MIN_DEFAULT_SAMPLES} for the "
            "default cascade rule; for fewer, set agreement (k of m)"
        )
    if spec.strong is None:
        raise UsageError("a cascade needs a strong model: --strong provider:model")
    return Cascade(
        spec.model,
        spec.strong,
        policy,
        verifier,
        judge=spec.open_judge,
        judge_samples=spec.judge_samples,
        accept_threshold=spec.accept_threshold,
    )


def build_verifier(spec: StrategySpec) -> Verifier | None:
    from think.strategies.verifiers import CommandVerifier, JudgeVerifier

    if spec.verify_cmd:
        return CommandVerifier.parse(spec.verify_cmd, spec.verify_timeout)
    if spec.judge is not None:
        return JudgeVerifier(spec.judge)
    return None
