"""An in-process provider that follows a script: a fake of the provider contract for
strategy tests (the HTTP layer has its own tests against the loopback server)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from think.errors import ProviderError
from think.providers.base import (
    Capabilities,
    ChatRequest,
    ChoiceFinished,
    ResponseStarted,
    StreamEvent,
    TextDelta,
    UsageReported,
)
from think.usage import Usage


@dataclass
class Reply:
    text: str
    input_tokens: int = 20
    output_tokens: int = 10
    error: str | None = None


@dataclass
class ScriptedProvider:
    """Answers each model's requests with its scripted replies, in order."""

    name: str = "fake"
    replies: dict[str, deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    requests: list[ChatRequest] = field(default_factory=list)
    native_reasoning: bool = False
    min_reasoning_max_tokens: int = 0

    def script(self, model: str, replies: Iterable[Reply | str]) -> None:
        for reply in replies:
            self.replies[model].append(reply if isinstance(reply, Reply) else Reply(reply))

    def capabilities(self, model: str) -> Capabilities:
        return Capabilities(
            supports_n=False,
            native_reasoning=self.native_reasoning,
            min_reasoning_max_tokens=self.min_reasoning_max_tokens,
        )

    async def aclose(self) -> None:
        return None

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        self.requests.append(request)
        queue = self.replies[request.model]
        if not queue:
            raise ProviderError(f"{self.name}: no scripted reply left for {request.model}")
        reply = queue.popleft()
        if reply.error:
            raise ProviderError(reply.error, status=500)
        yield ResponseStarted()
        yield TextDelta(reply.text)
        yield ChoiceFinished("stop")
        yield UsageReported(Usage(reply.input_tokens, min(reply.output_tokens, request.max_tokens)))
