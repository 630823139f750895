"""The streaming contract every provider implements.

A provider turns one :class:`ChatRequest` into one HTTP (or in-process) call and yields
:data:`StreamEvent` records as the response arrives: text deltas, reasoning deltas, a finish
reason per choice, and the usage once the provider reports it. A stream that ends before the
provider finished raises :class:`think.errors.StreamCutError`; usage is then unknown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from think.usage import Usage

Role = Literal["system", "user", "assistant"]
Effort = Literal["low", "medium", "high"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class ChatRequest:
    model: str
    """The provider's own model id (without the ``provider:`` prefix)."""
    messages: tuple[Message, ...]
    max_tokens: int
    temperature: float | None = None
    n: int = 1
    effort: Effort | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    service_tier: str | None = None
    """think's tier name (``standard``, ``flex``, ``priority``: :mod:`think.tiers`); None asks
    for none (the provider's default)."""
    tier_fallback: bool = False
    """Another tier follows when this one has no capacity: such a refusal is not retried."""


@dataclass(frozen=True)
class TextDelta:
    text: str
    index: int = 0


@dataclass(frozen=True)
class ReasoningDelta:
    text: str
    index: int = 0


@dataclass(frozen=True)
class ChoiceFinished:
    reason: str
    index: int = 0


@dataclass(frozen=True)
class UsageReported:
    usage: Usage


@dataclass(frozen=True)
class ResponseStarted:
    """The provider accepted the request (after ``attempts`` tries, retries included)."""

    attempts: int = 1


@dataclass(frozen=True)
class TierServed:
    """The service tier the provider says it served the request at (think's name)."""

    tier: str


StreamEvent = (
    ResponseStarted | TextDelta | ReasoningDelta | ChoiceFinished | UsageReported | TierServed
)


@dataclass(frozen=True)
class Capabilities:
    supports_n: bool = False
    """One request can return several choices (``n > 1``)."""
    streams_usage: bool = True
    """The stream reports usage; otherwise tokens are counted locally and marked estimated."""
    native_reasoning: bool = False
    """The model has a native reasoning mode controlled by ``effort``."""
    min_reasoning_max_tokens: int = 0
    """The smallest ``max_tokens`` a request with ``effort`` set is sent with (Anthropic's
    thinking budget must be at least 1024 tokens and less than ``max_tokens``). The provider
    raises a smaller limit to this, so a caller that reserves budget by ``max_tokens``
    raises it first."""
    extra: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    """One configured endpoint (a preset or a custom base URL) speaking one wire protocol."""

    name: str

    def capabilities(self, model: str) -> Capabilities: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]: ...

    async def aclose(self) -> None: ...


def split_system(messages: tuple[Message, ...]) -> tuple[str, list[Message]]:
    """The system messages joined into one instruction (for protocols that take it apart
    from the conversation), and the other turns in order."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    return system, [m for m in messages if m.role != "system"]


def split_for(request: ChatRequest, capabilities: Capabilities) -> list[ChatRequest]:
    """The requests that produce ``request.n`` choices: one request where the server
    supports ``n > 1``, else ``n`` concurrent single-choice requests."""
    if request.n == 1 or capabilities.supports_n:
        return [request]
    from dataclasses import replace

    return [replace(request, n=1) for _ in range(request.n)]
