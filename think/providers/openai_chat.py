"""The OpenAI Chat Completions protocol, for OpenAI and every compatible server.

Wire format: ``POST {base}/chat/completions``; streamed ``data:`` chunks ending with
``data: [DONE]``; usage in a final chunk with ``choices: []`` when
``stream_options.include_usage`` is set (some servers always send it, some never).
Reasoning text arrives as ``reasoning_content`` (DeepSeek, llama.cpp, SGLang) or
``reasoning`` (vLLM, Ollama, OpenRouter) deltas, or inline in ``<think>`` tags. Models that
only the Responses API serves (the endpoint's ``responses_models``) are sent there instead
(:mod:`think.providers.openai_responses`).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

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
)
from think.providers.endpoint import Endpoint
from think.providers.http import HttpProvider, sse_events
from think.providers.http_errors import stream_error
from think.providers.openai_responses import ResponsesStreamParser, parse_response, responses_body
from think.providers.options import RetryPolicy
from think.providers.payload import count, parse_json
from think.providers.think_tags import ThinkTagSplitter
from think.tiers import served_name
from think.usage import Usage, reported_cost


def is_reasoning_model(endpoint: Endpoint, model: str) -> bool:
    """Whether ``model`` has a native reasoning mode (``reasoning_effort``) on ``endpoint``:
    its id matches the endpoint's ``reasoning_models``."""
    pattern = endpoint.reasoning_models
    return bool(pattern and re.search(pattern, model))


class OpenAIChatProvider(HttpProvider):
    def __init__(self, endpoint: Endpoint, client: httpx.AsyncClient, policy: RetryPolicy) -> None:
        super().__init__(endpoint, client, policy)
        self._responses = (
            re.compile(endpoint.responses_models) if endpoint.responses_models else None
        )

    def uses_responses(self, model: str) -> bool:
        """Whether ``model`` is served only by the Responses API."""
        return bool(self._responses and self._responses.search(model))

    def capabilities(self, model: str) -> Capabilities:
        return Capabilities(
            supports_n=self.endpoint.supports_n and not self.uses_responses(model),
            streams_usage=self.endpoint.usage_in_stream != "never" or not self.endpoint.stream,
            native_reasoning=self._is_reasoning_model(model),
        )

    def _is_reasoning_model(self, model: str) -> bool:
        return is_reasoning_model(self.endpoint, model)

    def protocol_headers(self) -> dict[str, str]:
        return {"Accept": "text/event-stream"}

    def body(self, request: ChatRequest) -> dict[str, Any]:
        reasoning = self._is_reasoning_model(request.model)
        if self.uses_responses(request.model):
            return responses_body(
                request,
                reasoning=reasoning,
                stream=self.endpoint.stream,
                service_tier=self.tier_value(request),
            )
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            self.endpoint.max_tokens_field: request.max_tokens,
        }
        if request.n != 1:
            body["n"] = request.n
        if request.temperature is not None and not reasoning:
            body["temperature"] = request.temperature
        if request.effort is not None and reasoning:
            body["reasoning_effort"] = request.effort
        if request.stop and not reasoning:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        tier = self.tier_value(request)
        if tier is not None:
            body["service_tier"] = tier
        if self.endpoint.stream:
            body["stream"] = True
            if self.endpoint.usage_in_stream == "include_usage":
                body["stream_options"] = {"include_usage": True}
        return body

    def url(self, request: ChatRequest) -> str:
        path = "/responses" if self.uses_responses(request.model) else "/chat/completions"
        return self.endpoint.base_url.rstrip("/") + path

    def read_body(self, raw: bytes, request: ChatRequest) -> Iterator[StreamEvent]:
        if self.uses_responses(request.model):
            return parse_response(self.name, raw)
        return parse_completion(self.name, raw)

    async def read_stream(
        self, response: httpx.Response, request: ChatRequest, url: str
    ) -> AsyncIterator[StreamEvent]:
        if self.uses_responses(request.model):
            async for event in self._read_responses_stream(response, url):
                yield event
            return
        expected = request.n if self.endpoint.supports_n else 1
        parser = ChunkParser(self.name)
        done = False
        async for sse in sse_events(response, self.name, url):
            if sse.data.strip() == "[DONE]":
                done = True
                break
            for event in parser.parse(sse.data):
                yield event
        for event in parser.flush():
            yield event
        if done and parser.choices_seen == 0:
            raise ProviderError(f"{self.name}: the reply had no choices (no answer)")
        if not done and len(parser.finished) < expected:
            raise StreamCutError(f"{self.name}: the stream ended before the answer was complete")

    async def _read_responses_stream(
        self, response: httpx.Response, url: str
    ) -> AsyncIterator[StreamEvent]:
        parser = ResponsesStreamParser(self.name)
        async for sse in sse_events(response, self.name, url):
            for event in parser.parse(sse.data):
                yield event
            if parser.finished:
                return
        raise StreamCutError(f"{self.name}: the stream ended before the answer was complete")


class ChunkParser:
    """Turns ``chat.completion.chunk`` payloads into stream events."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.finished: set[int] = set()
        self.choices_seen = 0
        self.tier: str | None = None
        self._splitters: dict[int, ThinkTagSplitter] = {}

    def parse(self, data: str) -> Iterator[StreamEvent]:
        chunk = parse_json(self.provider, data, "stream data")
        if not isinstance(chunk, dict):
            return
        if chunk.get("error"):
            raise in_stream_error(self.provider, chunk["error"])
        tier = served_name(chunk.get("service_tier"))
        if tier is not None and tier != self.tier:  # every chunk echoes it: said once
            self.tier = tier
            yield TierServed(tier)
        for choice in chunk.get("choices") or ():
            self.choices_seen += 1
            index = int(choice.get("index") or 0)
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                yield ReasoningDelta(reasoning, index)
            content = delta.get("content")
            if isinstance(content, str) and content:
                yield from self._content(content, index)
            reason = choice.get("finish_reason")
            if reason:
                yield from self._flush_choice(index)
                self.finished.add(index)
                yield ChoiceFinished(str(reason), index)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            yield UsageReported(parse_usage(usage))

    def _content(self, content: str, index: int) -> Iterator[StreamEvent]:
        splitter = self._splitters.setdefault(index, ThinkTagSplitter())
        reasoning, text = splitter.feed(content)
        if reasoning:
            yield ReasoningDelta(reasoning, index)
        if text:
            yield TextDelta(text, index)

    def _flush_choice(self, index: int) -> Iterator[StreamEvent]:
        splitter = self._splitters.pop(index, None)
        if splitter is None:
            return
        reasoning, text = splitter.flush()
        if reasoning:
            yield ReasoningDelta(reasoning, index)
        if text:
            yield TextDelta(text, index)

    def flush(self) -> Iterator[StreamEvent]:
        for index in list(self._splitters):
            yield from self._flush_choice(index)


def parse_completion(provider: str, raw: bytes) -> Iterator[StreamEvent]:
    """Events for a non-streamed ``chat.completion`` response."""
    body = parse_json(provider, raw, "response body")
    if not isinstance(body, dict):
        raise ProviderError(f"{provider}: unexpected response body")
    if body.get("error"):
        raise in_stream_error(provider, body["error"])
    if not body.get("choices"):
        raise ProviderError(f"{provider}: the reply had no choices (no answer)")
    parser = ChunkParser(provider)
    tier = served_name(body.get("service_tier"))
    if tier is not None:
        yield TierServed(tier)
    for choice in body.get("choices") or ():
        delta = {"index": choice.get("index", 0), "delta": choice.get("message") or {}}
        delta["finish_reason"] = choice.get("finish_reason") or "stop"
        yield from parser.parse(json.dumps({"choices": [delta]}))
    usage = body.get("usage")
    if isinstance(usage, dict):
        yield UsageReported(parse_usage(usage))


def in_stream_error(provider: str, error: Any) -> ProviderError:
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("type") or "error")
        code = error.get("code")
    else:
        message, code = str(error), None
    status = code if isinstance(code, int) and not isinstance(code, bool) else None
    return stream_error(provider, message, status)


def parse_usage(usage: dict[str, Any]) -> Usage:
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    cached = count(prompt_details.get("cached_tokens")) or count(
        usage.get("prompt_cache_hit_tokens")
    )
    return Usage(
        input_tokens=count(usage.get("prompt_tokens")),
        output_tokens=count(usage.get("completion_tokens")),
        reasoning_tokens=count(completion_details.get("reasoning_tokens")),
        cached_tokens=cached,
        cache_write_tokens=count(prompt_details.get("cache_write_tokens")),
        reported_cost_usd=reported_cost(usage.get("cost")),
    )
