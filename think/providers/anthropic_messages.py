"""The Anthropic Messages protocol (``anthropic:claude-sonnet-4-5``).

Wire format (../shared/PROVIDERS.md section 4, checked against anthropics/anthropic-sdk-python):
``POST {base}/v1/messages`` where the base URL has no ``/v1`` (``ANTHROPIC_BASE_URL``, default
``https://api.anthropic.com``, exactly as the SDK's ``_client.py`` reads it), headers
``x-api-key`` and ``anthropic-version: 2023-06-01`` (the SDK's hard-coded value). System
messages go to the top-level ``system`` field; ``max_tokens`` is required; there is no ``n``
(``Capabilities.supports_n`` is False: several samples are several concurrent requests) and no
``seed`` (ignored).

Streams are named SSE events: ``message_start`` (usage: input and cache counts, a placeholder
output count), per content block ``content_block_start`` / ``content_block_delta`` /
``content_block_stop``, one or more ``message_delta`` (``stop_reason`` and *cumulative* usage),
``message_stop``; ``ping`` anywhere; unknown events are ignored, as the versioning policy asks.
``text_delta`` becomes :class:`TextDelta`, ``thinking_delta`` :class:`ReasoningDelta`;
``signature_delta`` and redacted thinking carry nothing to show. An ``error`` event inside the
200 stream (``overloaded_error`` …) ends the call with the status that error type has as a
response (529 …). The event sequence is the SDK's recorded fixtures'
(``tests/lib/streaming/fixtures/*.txt``, ``tests/fixtures/fable-fallback/*.sse``).

Usage: ``input_tokens`` *excludes* cache reads and writes, so the whole prompt is
``input_tokens + cache_creation_input_tokens + cache_read_input_tokens`` (genai-prices'
Anthropic extractor sums the same three); one-hour writes are
``cache_creation.ephemeral_1h_input_tokens``. ``output_tokens`` includes thinking; its
``output_tokens_details.thinking_tokens`` part is reported by newer API versions only (else the
reasoning count is 0: unknown). The last ``message_delta``'s fields win over
``message_start``'s.

Reasoning (``--effort``), by model generation (``claude-<family>-<major>-<minor>`` or the older
``claude-<major>-<minor>-<family>``):

* Claude 3.7 to 4.5 take a manual budget, ``thinking: {type: enabled, budget_tokens}``, which
  the SDK documents as "must be ≥1024 and less than ``max_tokens``". The budget is
  :func:`think.providers.thinking.thinking_budget` (1024 / 2048 / 4096 tokens for low / medium /
  high, at most half of ``max_tokens``), and a request whose ``max_tokens`` is below
  :data:`THINKING_MAX_TOKENS_FLOOR` (2048: the minimum budget plus as much again for the
  answer) is *raised* to it. ``Capabilities.min_reasoning_max_tokens`` announces that floor, so
  think's reasoning requests already carry at least that much and the budget governor reserves
  the limit that is really sent.
* Claude 4.6 and later take ``thinking: {type: adaptive}`` with ``output_config.effort``
  (manual budgets are deprecated on 4.6 and rejected from Opus 4.7 and the Claude 5 family on:
  Anthropic's adaptive-thinking page and Amazon Bedrock's copy of it).
* Earlier models have no thinking; they get chain-of-thought prompting from the strategies.

With thinking, ``temperature`` is not sent (the API accepts only the default then). Claude
4.7 and later (:data:`ALWAYS_THINKING`: Opus 4.7, the Claude 5 family) cannot have thinking
disabled (``type: disabled`` is rejected there), so they never get a ``temperature``, even
one asked for: the default (1) samples diversely enough for votes, and a request without
one cannot be refused for it. The
thinking text of Claude 4 models is a summary, billed as the full thinking: the usage, not
the streamed text, is what the call costs.

Not confirmed from a primary source (PROVIDERS.md section 9): the ``top_p`` range allowed with
thinking (never sent); whether claude-3-5-haiku is still served (genai-prices prices it, so it
is usable if it is).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from think.errors import ProviderError, StreamCutError
from think.providers.base import (
    Capabilities,
    ChatRequest,
    ChoiceFinished,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    TierServed,
    UsageReported,
    split_system,
)
from think.providers.http import HttpProvider, sse_events
from think.providers.http_errors import stream_error
from think.providers.payload import count, parse_json
from think.providers.thinking import thinking_budget
from think.tiers import served_name
from think.usage import Usage, total

ANTHROPIC_VERSION = "2023-06-01"
MIN_THINKING_TOKENS = 1024
"""The API's smallest ``budget_tokens``."""
THINKING_MAX_TOKENS_FLOOR = 2 * MIN_THINKING_TOKENS
"""The smallest ``max_tokens`` a manual-budget thinking request is sent with."""

ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""The HTTP status each error type is sent with (platform.claude.com/docs/en/api/errors)."""

ThinkingMode = Literal["budget", "adaptive"]

_VERSION = re.compile(r"^claude-(?:[a-z]+-)?(\d+)(?:-(\d{1,2})(?!\d))?(?!\d)")


def claude_version(model: str) -> tuple[int, int] | None:
    """``(major, minor)`` of a Claude model id: ``claude-sonnet-4-5-20250929`` → (4, 5),
    ``claude-3-7-sonnet-latest`` → (3, 7), ``claude-opus-4-20250514`` → (4, 0)."""
    match = _VERSION.match(model.lower())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


ALWAYS_THINKING = (4, 7)
"""From this Claude version on, thinking cannot be switched off: no ``temperature``."""


def always_thinks(model: str) -> bool:
    version = claude_version(model)
    return version is not None and version >= ALWAYS_THINKING


def thinking_mode(model: str) -> ThinkingMode | None:
    """How the model's extended thinking is switched on, or None if it has none."""
    version = claude_version(model)
    if version is None or version < (3, 7):
        return None
    return "budget" if version < (4, 6) else "adaptive"


class AnthropicMessagesProvider(HttpProvider):
    def capabilities(self, model: str) -> Capabilities:
        mode = thinking_mode(model)
        return Capabilities(
            supports_n=False,
            streams_usage=True,
            native_reasoning=mode is not None,
            min_reasoning_max_tokens=THINKING_MAX_TOKENS_FLOOR if mode == "budget" else 0,
        )

    key_header = "x-api-key"
    key_scheme = ""

    def protocol_headers(self) -> dict[str, str]:
        accept = "text/event-stream" if self.endpoint.stream else "application/json"
        return {"Accept": accept, "anthropic-version": ANTHROPIC_VERSION}

    def body(self, request: ChatRequest) -> dict[str, Any]:
        system, turns = split_system(request.messages)
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in turns],
        }
        if system:
            body["system"] = system
        mode = thinking_mode(request.model) if request.effort is not None else None
        if mode == "budget" and request.effort is not None:
            max_tokens = max(request.max_tokens, THINKING_MAX_TOKENS_FLOOR)
            budget = thinking_budget(request.effort, max_tokens, minimum=MIN_THINKING_TOKENS)
            body["max_tokens"] = max_tokens
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        elif mode == "adaptive":
            body["thinking"] = {"type": "adaptive"}
            body["output_config"] = {"effort": request.effort}
        elif request.temperature is not None and not always_thinks(request.model):
            body["temperature"] = request.temperature
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        tier = self.tier_value(request)
        if tier is not None:
            body["service_tier"] = tier
        if self.endpoint.stream:
            body["stream"] = True
        return body

    def check(self, request: ChatRequest) -> None:
        super().check(request)
        if request.n != 1:
            raise ProviderError(f"{self.name}: one request returns one answer (n must be 1)")

    def url(self, request: ChatRequest) -> str:
        return self.endpoint.base_url.rstrip("/") + "/v1/messages"

    def read_body(self, raw: bytes, request: ChatRequest) -> Iterator[StreamEvent]:
        return parse_message(self.name, raw)

    async def read_stream(
        self, response: httpx.Response, request: ChatRequest, url: str
    ) -> AsyncIterator[StreamEvent]:
        parser = MessageStreamParser(self.name)
        async for sse in sse_events(response, self.name, url):
            for event in parser.parse(sse.event, sse.data):
                yield event
            if parser.stopped:
                break
        if parser.stop_reason is None:
            raise StreamCutError(f"{self.name}: the stream ended before the answer was complete")
        for event in served_tier(parser.raw_usage):
            yield event
        yield UsageReported(parser.usage())


def error_event(provider: str, payload: Any) -> ProviderError:
    """The error an ``error`` event or an error body (``{"type": "error", "error": ...}``)
    reports, with the status that error type has as an HTTP response."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return stream_error(provider, str(error or payload))
    kind = str(error.get("type") or "error")
    message = str(error.get("message") or kind)
    shown = message if kind in message else f"{message} ({kind})"
    return stream_error(provider, shown, ERROR_STATUS.get(kind))


def parse_usage(usage: dict[str, Any]) -> Usage:
    """Usage in think's (genai-prices') terms from an Anthropic ``usage`` object."""
    fresh = count(usage.get("input_tokens"))
    read = count(usage.get("cache_read_input_tokens"))
    written = count(usage.get("cache_creation_input_tokens"))
    creation = usage.get("cache_creation")
    written_1h = (
        count(creation.get("ephemeral_1h_input_tokens")) if isinstance(creation, dict) else 0
    )
    details = usage.get("output_tokens_details")
    thinking = count(details.get("thinking_tokens")) if isinstance(details, dict) else 0
    return Usage(
        input_tokens=total(fresh, read, written),
        output_tokens=count(usage.get("output_tokens")),
        reasoning_tokens=thinking,
        cached_tokens=read,
        cache_write_tokens=written,
        cache_write_1h_tokens=min(written_1h, written),
    )


@dataclass
class MessageStreamParser:
    """Turns the events of one streamed message into stream events."""

    provider: str
    stop_reason: str | None = None
    stopped: bool = False
    """``message_stop`` arrived: nothing more will come."""
    _usage: dict[str, Any] = field(default_factory=dict)

    def parse(self, name: str, data: str) -> Iterator[StreamEvent]:
        payload = parse_json(self.provider, data)
        if not isinstance(payload, dict):
            return
        kind = payload.get("type") or name
        if kind == "error" or name == "error":
            raise error_event(self.provider, payload)
        if kind == "message_start":
            message = payload.get("message")
            if isinstance(message, dict) and isinstance(message.get("usage"), dict):
                self._usage.update(message["usage"])
        elif kind == "content_block_start":
            yield from _block_events(payload.get("content_block"))
        elif kind == "content_block_delta":
            yield from _delta_events(payload.get("delta"))
        elif kind == "message_delta":
            delta = payload.get("delta")
            reason = delta.get("stop_reason") if isinstance(delta, dict) else None
            if reason:
                self.stop_reason = str(reason)
                yield ChoiceFinished(self.stop_reason)
            if isinstance(payload.get("usage"), dict):  # cumulative: later fields win
                self._usage.update({k: v for k, v in payload["usage"].items() if v is not None})
        elif kind == "message_stop":
            self.stopped = True

    def usage(self) -> Usage:
        return parse_usage(self._usage)

    @property
    def raw_usage(self) -> dict[str, Any]:
        return self._usage


def served_tier(usage: Any) -> Iterator[StreamEvent]:
    """The tier a ``usage`` object says served the message (``usage.service_tier``:
    ``standard``, ``priority`` or ``batch``)."""
    tier = served_name(usage.get("service_tier")) if isinstance(usage, dict) else None
    if tier is not None:
        yield TierServed(tier)


def _block_events(block: Any) -> Iterator[StreamEvent]:
    """A content block may start with text already in it (the API sends it empty)."""
    if not isinstance(block, dict):
        return
    if block.get("type") == "text" and block.get("text"):
        yield TextDelta(str(block["text"]))
    elif block.get("type") == "thinking" and block.get("thinking"):
        yield ReasoningDelta(str(block["thinking"]))


def _delta_events(delta: Any) -> Iterator[StreamEvent]:
    if not isinstance(delta, dict):
        return
    kind = delta.get("type")
    if kind == "text_delta" and delta.get("text"):
        yield TextDelta(str(delta["text"]))
    elif kind == "thinking_delta" and delta.get("thinking"):
        yield ReasoningDelta(str(delta["thinking"]))


def parse_message(provider: str, raw: bytes) -> Iterator[StreamEvent]:
    """Events for a whole (non-streamed) ``message`` object."""
    body = parse_json(provider, raw)
    if not isinstance(body, dict):
        raise ProviderError(f"{provider}: unexpected response body")
    if body.get("type") == "error" or body.get("error"):
        raise error_event(provider, body)
    for block in body.get("content") or ():
        yield from _block_events(block)
    yield ChoiceFinished(str(body.get("stop_reason") or "end_turn"))
    if isinstance(body.get("usage"), dict):
        yield from served_tier(body["usage"])
        yield UsageReported(parse_usage(body["usage"]))
