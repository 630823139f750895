"""Helpers shared by the native-protocol provider tests: run one call of a provider against a
loopback server and collect what it yields (or the error it ends with)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from think.providers.http import make_client
from think.providers.options import RetryPolicy, Timeouts
from think.providers.presets import PRESETS
from think.usage import Usage

FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05)
QUICK = Timeouts(connect=2.0, idle=5.0)
MESSAGES = (Message("system", "Be brief."), Message("user", "What is 2 + 2?"))
PROMPT_WORDS = 2 + 5  # the fakes count whitespace-separated words

ProviderClass = Callable[..., Provider]
"""A provider class taking ``(endpoint, client, policy)``."""


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

    def texts(self) -> dict[int, str]:
        out: dict[int, str] = defaultdict(str)
        for e in self.events:
            if isinstance(e, TextDelta):
                out[e.index] += e.text
        return dict(out)

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


def chat(model: str, **changes: Any) -> ChatRequest:
    """A 256-token request for ``model`` with :data:`MESSAGES`, changed by ``changes``."""
    return dataclasses.replace(
        ChatRequest(model=model, messages=MESSAGES, max_tokens=256), **changes
    )


def preset(name: str, base_url: str, key: str | None, **changes: Any) -> Endpoint:
    """The preset ``name`` pointed at a loopback server, with ``key`` (``changes`` win)."""
    return dataclasses.replace(PRESETS[name], **{"base_url": base_url, "api_key": key, **changes})


def call(
    kind: ProviderClass,
    endpoint: Endpoint,
    request: ChatRequest,
    policy: RetryPolicy = FAST,
    timeouts: Timeouts = QUICK,
) -> Outcome:
    """One call through a fresh provider of class ``kind``."""
    return run_stream(kind(endpoint, make_client(timeouts), policy), request)


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


@dataclass(frozen=True)
class Harness:
    """One protocol's test kit: endpoints on a loopback server, requests, calls."""

    preset: str
    kind: ProviderClass
    key: str
    model: str

    def endpoint(self, server: Any, **changes: Any) -> Endpoint:
        """The preset pointed at ``server`` (a loopback server) with :attr:`key`."""
        return preset(self.preset, server.base_url, self.key, **changes)

    def chat(self, model: str | None = None, **changes: Any) -> ChatRequest:
        return chat(model or self.model, **changes)

    def call(
        self,
        endpoint: Endpoint,
        request: ChatRequest,
        policy: RetryPolicy = FAST,
        timeouts: Timeouts = QUICK,
    ) -> Outcome:
        return call(self.kind, endpoint, request, policy, timeouts)
