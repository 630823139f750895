"""The OpenAI Responses API, for the models that only speak it (o1-pro, o3-pro, gpt-5-pro,
the deep-research and codex models).

Wire format (../shared/PROVIDERS.md §3, SDK ``types/responses``): ``POST {base}/responses``
with ``input`` (the conversation), ``instructions`` (the system prompt),
``max_output_tokens`` (reasoning included), ``reasoning: {effort, summary: "auto"}`` and
``stream: true``. The stream is SSE with ``event: <type>`` lines: text arrives as
``response.output_text.delta``, reasoning summaries as ``response.reasoning_summary_text.delta``
(the only reasoning text OpenAI shows), and usage only in the terminal event
(``response.completed``, ``response.incomplete`` or ``response.failed``). There is no ``n``:
several samples are concurrent requests. :class:`think.providers.openai_chat` routes a model
here when the endpoint's ``responses_models`` pattern matches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from think.errors import ProviderError
from think.providers.base import (
    ChatRequest,
    ChoiceFinished,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    TierServed,
    UsageReported,
    split_system,
)
from think.providers.http_errors import stream_error
from think.providers.payload import count, parse_json
from think.tiers import served_name
from think.usage import Usage

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def responses_body(
    request: ChatRequest, *, reasoning: bool, stream: bool, service_tier: str | None = None
) -> dict[str, Any]:
    system, turns = split_system(request.messages)
    body: dict[str, Any] = {
        "model": request.model,
        "input": [{"role": m.role, "content": m.content} for m in turns],
        "max_output_tokens": request.max_tokens,
        "store": False,
    }
    if system:
        body["instructions"] = system
    if reasoning:
        body["reasoning"] = {"summary": "auto"}
        if request.effort is not None:
            body["reasoning"]["effort"] = request.effort
    elif request.temperature is not None:
        body["temperature"] = request.temperature
    if service_tier is not None:
        body["service_tier"] = service_tier
    if stream:
        body["stream"] = True
    return body


class ResponsesStreamParser:
    """Turns Responses stream events (their ``data`` payloads) into stream events."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.finished = False

    def parse(self, data: str) -> Iterator[StreamEvent]:
        event = parse_json(self.provider, data, "stream data")
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "response.output_text.delta":
            delta = event.get("delta")
            if isinstance(delta, str) and delta:
                yield TextDelta(delta)
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            delta = event.get("delta")
            if isinstance(delta, str) and delta:
                yield ReasoningDelta(delta)
        elif kind == "response.reasoning_summary_part.done":
            yield ReasoningDelta("\n\n")  # summary parts are separate paragraphs
        elif kind == "error":
            raise _error(self.provider, event)
        elif kind in TERMINAL:
            response = event.get("response") or {}
            yield from self._finish(response)

    def _finish(self, response: dict[str, Any]) -> Iterator[StreamEvent]:
        tier = served_name(response.get("service_tier"))
        if tier is not None:  # the terminal event's response says the tier that served it
            yield TierServed(tier)
        usage = response.get("usage")
        if isinstance(usage, dict):
            yield UsageReported(parse_usage(usage))
        status = response.get("status")
        if status == "failed":
            raise _error(self.provider, response.get("error") or {"message": "response failed"})
        self.finished = True
        yield ChoiceFinished(_finish_reason(response))


def parse_response(provider: str, raw: bytes) -> Iterator[StreamEvent]:
    """Events for a whole (non-streamed) ``response`` object."""
    response = parse_json(provider, raw, "response body")
    if not isinstance(response, dict):
        raise ProviderError(f"{provider}: unexpected response body")
    if response.get("error") and response.get("status") != "completed":
        raise _error(provider, response["error"])
    for item in response.get("output") or ():
        if not isinstance(item, dict):
            continue
        if item.get("type") == "reasoning":
            summary = [s.get("text", "") for s in item.get("summary") or () if isinstance(s, dict)]
            if any(summary):
                yield ReasoningDelta("\n\n".join(summary))
        elif item.get("type") == "message":
            for part in item.get("content") or ():
                if isinstance(part, dict) and part.get("type") == "output_text":
                    text = part.get("text")
                    if isinstance(text, str) and text:
                        yield TextDelta(text)
    parser = ResponsesStreamParser(provider)
    yield from parser._finish(response)


def parse_usage(usage: dict[str, Any]) -> Usage:
    input_details = usage.get("input_tokens_details") or {}
    output_details = usage.get("output_tokens_details") or {}
    return Usage(
        input_tokens=count(usage.get("input_tokens")),
        output_tokens=count(usage.get("output_tokens")),
        reasoning_tokens=count(output_details.get("reasoning_tokens")),
        cached_tokens=count(input_details.get("cached_tokens")),
    )


def _finish_reason(response: dict[str, Any]) -> str:
    if response.get("status") == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        return "length" if reason == "max_output_tokens" else str(reason or "incomplete")
    return "stop"


STATUS_FOR_CODE = {"server_error": 500, "rate_limit_exceeded": 429, "invalid_api_key": 401}
"""The HTTP status an error code in a stream stands for (whether a retry may help)."""


def _error(provider: str, error: Any) -> ProviderError:
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("code") or "error")
        status = STATUS_FOR_CODE.get(str(error.get("code")))
    else:
        message, status = str(error), None
    return stream_error(provider, message, status)
