"""Helpers shared by the native-protocol provider tests: run one call of a provider against a
loopback server and collect what it yields (or the error it ends with)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from think.errors import ProviderError, ThinkError
from think.providers.base import (
    ChatRequest,
    ChoiceFinished,
    Message,
    Provider,
    ReasoningDelta,
    ResponseStarted,
    StreamEvent,
    TextDelta,
    UsageReported,
)
from think.providers.endpoint import Endpoint
from think.providers.http import RetryPolicy, Timeouts
from think.usage import Usage

FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05)
QUICK = Timeouts(connect=2.0, idle=5.0)
MESSAGES = (Message("system", "Be brief."), Message("user", "What is 2 + 2?"))
PROMPT_WORDS = 2 + 5  # the fakes count whitespace-separated words

ProviderFactory = Callable[[Endpoint, RetryPolicy, Timeouts], Provider]


@dataclass
class Outcome:
    events: list[StreamEvent]
    error: ThinkError | None

    def text(self, index: int = 0) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta) and e.index == index)

    def reasoning(self, index: int = 0) -> str:
        return "".join(
            e.text for e in self.events if isinstance(e, ReasoningDelta) and e.index == index
        )

    @property
    def usages(self) -> list[Usage]:
        return [e.usage for e in self.events if isinstance(e, UsageReported)]

    @property
    def usage(self) -> Usage:
        assert len(self.usages) == 1, self.events
        return self.usages[0]

    @property
    def finishes(self) -> dict[int, str]:
        return {e.index: e.reason for e in self.events if isinstance(e, ChoiceFinished)}

    @property
    def attempts(self) -> int:
        started = [e for e in self.events if isinstance(e, ResponseStarted)]
        assert len(started) == 1, self.events
        return started[0].attempts

    def ok(self) -> Outcome:
        if self.error is not None:
            raise AssertionError(f"stream failed: {self.error!r}")
        return self

    def failed(self, kind: type[ThinkError] = ProviderError) -> ThinkError:
        assert isinstance(self.error, kind), f"expected {kind.__name__}, got {self.error!r}"
        return self.error


def run_stream(provider: Provider, request: ChatRequest) -> Outcome:
    """One call, every event it yields, and the error it ended with; closes the provider."""

    async def run() -> Outcome:
        events: list[StreamEvent] = []
        try:
            async for event in provider.stream(request):
                events.append(event)
        except ThinkError as exc:
            return Outcome(events, exc)
        finally:
            await provider.aclose()
        return Outcome(events, None)

    return asyncio.run(run())
