"""What a strategy gets to work with, and what it hands back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from think.calls import CallContext
from think.errors import ThinkError
from think.events import RunStatus
from think.model_ref import ModelRef
from think.providers.base import Effort, Message, Provider

if TYPE_CHECKING:
    from think.plan import PlanStep
    from think.strategies.answers import AnswerFormat


@dataclass(frozen=True)
class QueryOptions:
    max_tokens: int
    temperature: float | None
    system: str | None
    answer_format: AnswerFormat | None = None
    """How to extract final answers; ``None`` is ``auto``."""
    choices: tuple[str, ...] = ()
    """Multiple-choice options, when the question has them."""
    effort: Effort = "medium"
    """Reasoning effort of the strong model's reasoning mode."""


@dataclass
class RunContext:
    calls: CallContext
    messages: tuple[Message, ...]
    options: QueryOptions
    provider_for: Callable[[ModelRef], Provider]

    @property
    def prompt(self) -> str:
        return next(m.content for m in reversed(self.messages) if m.role == "user")


@dataclass
class StrategyResult:
    status: RunStatus
    answer: str | None = None
    answer_model: str | None = None
    error: ThinkError | None = None
    final_answer: str | None = None
    """The extracted, normalised final answer (the voting key), when there is one."""
    votes: dict[str, int] = field(default_factory=dict)
    agreement: float | None = None
    escalated: bool = False
    escalation_reason: str | None = None
    strong_only_cost_usd: Decimal | None = None
    stages: list[str] = field(default_factory=list)
    answer_shape: str | None = None
    """``short`` (judged by agreement) or ``open`` (judged as a whole), when decided."""
    verdict: str | None = None
    """The open-ended gate's verdict on the cheap answer: ``pass`` or ``fail``."""
    p_accept: float | None = None
    """The judged probability that the cheap answer is good enough."""


class Strategy(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def models(self) -> tuple[ModelRef, ...]: ...

    def plan(self, options: QueryOptions) -> list[PlanStep]: ...

    async def run(self, ctx: RunContext) -> StrategyResult: ...
