"""The Gemini API protocol (``gemini:gemini-2.5-flash``), Google AI Studio's native format.

Wire format (../shared/PROVIDERS.md section 5, checked against googleapis/python-genai):
``POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`` (``:generateContent``
when not streaming) where the base URL has no ``/v1beta`` (``GEMINI_BASE_URL``, or the SDK's
own ``GOOGLE_GEMINI_BASE_URL``; default ``https://generativelanguage.googleapis.com``), key in
the ``x-goog-api-key`` header (``GEMINI_API_KEY``, else ``GOOGLE_API_KEY``; the SDK prefers
``GOOGLE_API_KEY`` when both are set). The body has ``systemInstruction``, ``contents`` with
roles ``user`` / ``model``, and ``generationConfig`` (``maxOutputTokens``, ``temperature``,
``candidateCount``, ``stopSequences``, ``seed``, ``thinkingConfig``).

Every ``data:`` event is a whole ``GenerateContentResponse``; the stream just ends (no
sentinel), the last chunk carrying ``finishReason`` and the final ``usageMetadata`` (earlier
chunks' counts are provisional: only the last is used). Parts with ``thought: true`` are
thought summaries (:class:`ReasoningDelta`); a part with only a ``thoughtSignature`` carries
no text. Usage: ``promptTokenCount`` includes ``cachedContentTokenCount``; the billable
output is ``candidatesTokenCount + thoughtsTokenCount`` (genai-prices' Google extractor adds
the same two). Errors are Google's ``{"error": {"code", "message", "status"}}`` as a status
code or as an in-stream chunk; 429 ``RESOURCE_EXHAUSTED`` and 503 ``UNAVAILABLE`` are retried
(with the ``google.rpc.RetryInfo`` delay, since Gemini sends no ``retry-after`` header), a
per-day quota is not; a bad key is a 400 ``API_KEY_INVALID``, reported as an auth error
(:mod:`think.providers.http_errors`). A prompt the safety filter blocks comes back as a
chunk with ``promptFeedback.blockReason`` and no candidates: an error.

``candidateCount`` > 1 is only allowed without streaming on 2.5 models and is rejected by 3.x
models ("Multiple candidates is not enabled for this model"), so ``Capabilities.supports_n``
is False and the strategies send concurrent single-answer requests.

Thinking, from ``--effort`` (``maxOutputTokens`` caps thoughts and answer together, so the
budget is at most half of it: :func:`think.providers.thinking.thinking_budget`):

=====================  =====================  ================  ===========================
model                  control                effort unset      low / medium / high
=====================  =====================  ================  ===========================
gemini-2.5-pro         thinkingBudget         128 (cannot be    1024 / 2048 / 4096
                       128–32768              switched off)
gemini-2.5-flash       thinkingBudget         0 (off)           1024 / 2048 / 4096
                       0–24576
gemini-2.5-flash-lite  thinkingBudget         0 (off)           1024 / 2048 / 4096
                       512–24576
gemini-3*-pro          thinkingLevel          low               low / high / high
gemini-3*-flash(-lite) thinkingLevel          minimal           low / medium / high
=====================  =====================  ================  ===========================

``includeThoughts: true`` is sent whenever thinking may happen. Other models get no
``thinkingConfig``.

What was checked for the points PROVIDERS.md section 9 leaves open:

* ranges: python-genai's ``ThinkingConfig`` ("0 is DISABLED. -1 is AUTOMATIC. The default
  values and allowed ranges are model dependent"); the per-model numbers are the Gemini
  thinking page's as gemini-rust's ``ThinkingConfig`` docs reproduce them, Flash-Lite's
  512–24576 included (a second source, not Google's own page, which was not reachable);
* 3.x levels: python-genai's ``ThinkingLevel`` enum (MINIMAL … HIGH, no "off"); Gemini 3 Pro
  takes only low / high (migration notes quoting the docs);
* ``maxOutputTokens`` caps thoughts plus answer: python-genai issues #782 and #2062 and
  measurements in vectorize-io/hindsight#3365 (thoughts + candidates land on the cap);
* 429s carry no ``retry-after`` or rate-limit headers, only a ``google.rpc.RetryInfo``
  detail (dcdpr/jp#1061, langchain-google#945, a real body in browserbase#129);
* not confirmed: whether ``candidatesTokenCount`` sums all candidates (irrelevant while every
  request asks for one).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from think.errors import ProviderError, StreamCutError
from think.providers.base import (
    Capabilities,
    ChatRequest,
    ChoiceFinished,
    Effort,
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

SERVED_TIER_HEADER = "x-gemini-service-tier"
"""The response header naming the tier that served a request (ai.google.dev/gemini-api/
docs/priority-inference: a priority request over its limit is served at ``standard``)."""


@dataclass(frozen=True)
class ThinkingFamily:
    """How one family of Gemini models is told how much to think."""

    pattern: str
    budget_range: tuple[int, int] | None = None
    """``thinkingBudget`` bounds (2.5 models)."""
    off: int | str = 0
    """What is sent when no effort is asked for: a budget (0 = off) or a level."""
    levels: dict[Effort, str] = field(default_factory=dict)
    """``thinkingLevel`` per effort (3.x models)."""


THINKING_FAMILIES = (
    ThinkingFamily(r"gemini-2\.5-pro", budget_range=(128, 32768), off=128),
    ThinkingFamily(r"gemini-2\.5-flash-lite", budget_range=(512, 24576)),
    ThinkingFamily(r"gemini-2\.5-flash", budget_range=(1, 24576)),
    ThinkingFamily(
        r"gemini-3(\.\d+)?-pro", off="low", levels={"low": "low", "medium": "high", "high": "high"}
    ),
    ThinkingFamily(
        r"gemini-3(\.\d+)?-flash",
        off="minimal",
        levels={"low": "low", "medium": "medium", "high": "high"},
    ),
)


def model_id(model: str) -> str:
    """The model id without the ``models/`` prefix Google's own listings use."""
    return model.removeprefix("models/")


def thinking_family(model: str) -> ThinkingFamily | None:
    name = model_id(model).lower()
    for family in THINKING_FAMILIES:
        if re.match(family.pattern, name):
            return family
    return None


def thinking_config(model: str, effort: Effort | None, max_tokens: int) -> dict[str, Any] | None:
    """The ``generationConfig.thinkingConfig`` for a request, or None for models without
    thinking (see the module docstring's table)."""
    family = thinking_family(model)
    if family is None:
        return None
    if family.budget_range is not None:
        low, high = family.budget_range
        if effort is None:
            budget = family.off
        else:
            budget = thinking_budget(effort, max_tokens, minimum=low, maximum=high)
        if budget == 0:
            return {"thinkingBudget": 0}
        return {"thinkingBudget": budget, "includeThoughts": True}
    level = family.off if effort is None else family.levels[effort]
    return {"thinkingLevel": level, "includeThoughts": True}


class GeminiProvider(HttpProvider):
    def capabilities(self, model: str) -> Capabilities:
        return Capabilities(
            supports_n=False,
            streams_usage=True,
            native_reasoning=thinking_family(model) is not None,
        )

    def url(self, request: ChatRequest) -> str:
        base = self.endpoint.base_url.rstrip("/")
        name = quote(model_id(request.model), safe="-._~")
        if self.endpoint.stream:
            return f"{base}/v1beta/models/{name}:streamGenerateContent?alt=sse"
        return f"{base}/v1beta/models/{name}:generateContent"

    key_header = "x-goog-api-key"
    key_scheme = ""

    def body(self, request: ChatRequest) -> dict[str, Any]:
        system, turns = split_system(request.messages)
        body: dict[str, Any] = {
            "contents": [
                {
                    "role": "model" if m.role == "assistant" else "user",
                    "parts": [{"text": m.content}],
                }
                for m in turns
            ]
        }
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        config: dict[str, Any] = {"maxOutputTokens": request.max_tokens}
        if request.temperature is not None:
            config["temperature"] = request.temperature
        if request.n != 1:
            config["candidateCount"] = request.n
        if request.stop:
            config["stopSequences"] = list(request.stop)
        if request.seed is not None:
            config["seed"] = request.seed
        thinking = thinking_config(request.model, request.effort, request.max_tokens)
        if thinking is not None:
            config["thinkingConfig"] = thinking
        body["generationConfig"] = config
        tier = self.tier_value(request)
        if tier is not None:  # the SDK's GenerateContentConfig.service_tier (UNCONFIRMED: REST
            body["serviceTier"] = tier  # placement taken as the top-level camelCase field)
        return body

    def read_body(self, raw: bytes, request: ChatRequest) -> Iterator[StreamEvent]:
        return parse_response(self.name, raw, request.n)

    async def read_stream(
        self, response: httpx.Response, request: ChatRequest, url: str
    ) -> AsyncIterator[StreamEvent]:
        parser = ResponseParser(self.name)
        tier = served_name(response.headers.get(SERVED_TIER_HEADER))
        if tier is not None:
            yield TierServed(tier)
        async for sse in sse_events(response, self.name, url):
            for event in parser.parse(parse_json(self.name, sse.data)):
                yield event
        if len(parser.finished) < request.n:
            raise StreamCutError(f"{self.name}: the stream ended before the answer was complete")
        if parser.usage is not None:
            yield UsageReported(parser.usage)


def parse_usage(metadata: dict[str, Any]) -> Usage:
    """Usage in think's (genai-prices') terms from ``usageMetadata``."""
    thoughts = count(metadata.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=total(
            count(metadata.get("promptTokenCount")), count(metadata.get("toolUsePromptTokenCount"))
        ),
        output_tokens=total(count(metadata.get("candidatesTokenCount")), thoughts),
        reasoning_tokens=thoughts,
        cached_tokens=count(metadata.get("cachedContentTokenCount")),
    )


def error_chunk(provider: str, error: Any) -> ProviderError:
    """The error of an ``{"error": {"code", "message", "status"}}`` chunk or body."""
    if not isinstance(error, dict):
        return stream_error(provider, str(error))
    code = error.get("code")
    status = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = str(error.get("message") or error.get("status") or "error")
    if error.get("status") and str(error["status"]) not in message:
        message = f"{message} ({error['status']})"
    return stream_error(provider, message, status)


@dataclass
class ResponseParser:
    """Turns ``GenerateContentResponse`` chunks into stream events."""

    provider: str
    finished: set[int] = field(default_factory=set)
    usage: Usage | None = None
    """From the latest chunk that had ``usageMetadata`` (the last one is final)."""

    def parse(self, chunk: Any) -> Iterator[StreamEvent]:
        if isinstance(chunk, list):  # the JSON-array form of streamGenerateContent
            for item in chunk:
                yield from self.parse(item)
            return
        if not isinstance(chunk, dict):
            return
        if chunk.get("error"):
            raise error_chunk(self.provider, chunk["error"])
        candidates = chunk.get("candidates") or ()
        feedback = chunk.get("promptFeedback")
        if not candidates and isinstance(feedback, dict) and feedback.get("blockReason"):
            raise ProviderError(
                f"{self.provider}: the prompt was blocked ({feedback['blockReason']})"
            )
        for candidate in candidates:
            if isinstance(candidate, dict):
                yield from self._candidate(candidate)
        if isinstance(chunk.get("usageMetadata"), dict):
            self.usage = parse_usage(chunk["usageMetadata"])

    def _candidate(self, candidate: dict[str, Any]) -> Iterator[StreamEvent]:
        index = max(0, count(candidate.get("index")))
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts or ():
            text = part.get("text") if isinstance(part, dict) else None
            if isinstance(text, str) and text:
                yield ReasoningDelta(text, index) if part.get("thought") else TextDelta(text, index)
        reason = candidate.get("finishReason")
        if reason:
            self.finished.add(index)
            yield ChoiceFinished(str(reason), index)


def parse_response(provider: str, raw: bytes, n: int = 1) -> Iterator[StreamEvent]:
    """Events for a whole (non-streamed) ``GenerateContentResponse``."""
    parser = ResponseParser(provider)
    yield from parser.parse(parse_json(provider, raw))
    for index in range(n):
        if index not in parser.finished:
            yield ChoiceFinished("STOP", index)
    if parser.usage is not None:
        yield UsageReported(parser.usage)
