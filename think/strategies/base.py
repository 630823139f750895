"""What a strategy gets to work with, and what it hands back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from think.calls import CallContext
from think.errors import ThinkError
from think.events import RunStatus
from think.model_ref import ModelRef
from think.providers.base import Message, Provider


@dataclass(frozen=True)
class QueryOptions:
    max_tokens: int
    temperature: float | None
    system: str | None


@dataclass
class RunContext:
    calls: CallContext
    messages: tuple[Message, ...]
    options: QueryOptions
    provider_for: Callable[[ModelRef], Provider]


@dataclass
class StrategyResult:
    status: RunStatus
    answer: str | None = None
    answer_model: str | None = None
    error: ThinkError | None = None


class Strategy(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def models(self) -> tuple[ModelRef, ...]: ...

    async def run(self, ctx: RunContext) -> StrategyResult: ...
