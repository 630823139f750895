"""A loopback server speaking the Anthropic Messages wire format (``POST /v1/messages``).

The wire-format layer on :mod:`tests.fakes.loopback`: it checks requests the way the real
API does (``x-api-key``, ``anthropic-version``, ``max_tokens`` required, no ``n``, no
``system`` role in ``messages``, the thinking budget's bounds, no ``temperature`` with
thinking) and answers with the event sequence of the SDK's recorded streams
(``message_start``, ``ping``, thinking and text content blocks, ``message_delta`` with the
cumulative usage, ``message_stop``), or a whole ``message`` without ``stream``.

Deterministic usage (one token per whitespace-separated word):

* the prompt is ``system`` plus every message's text; of it, ``cache_read_tokens`` are
  reported as cache reads and ``cache_write_tokens`` (of which ``cache_write_1h_tokens``
  one-hour) as cache writes, the rest as ``input_tokens``;
* ``output_tokens`` = ``hidden_thinking_tokens`` (billed, never shown, as Claude 4's
  summarised thinking is) + thinking words + answer words, cut at ``max_tokens`` in that
  order (``stop_reason: max_tokens``); thinking happens only when the request enables it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.behaviours import (
    FIXTURES_ROOT,
    ErrorInStream,
    Fault,
    Generate,
    JSONDict,
    RecordedRequest,
    Spent,
    Status,
    count_tokens,
    json_bytes,
    retry_headers,
    spend,
    sse_event,
)
from tests.fakes.loopback import Handler, LoopbackServer, serving

FIXTURES_DIR = FIXTURES_ROOT / "anthropic"
VERSION = "2023-06-01"


def anthropic_error(kind: str, message: str) -> JSONDict:
    """Anthropic's error body: ``{"type": "error", "error": {"type", "message"}}``."""
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": _rid(kind)}


def _rid(seed: str) -> str:
    return "req_011" + hashlib.sha256(seed.encode()).hexdigest()[:21]


def load_fixture_json(name: str) -> JSONDict:
    return FakeAnthropicServer.fixture_json(name)


def invalid_request(message: str) -> Status:
    return Status(400, anthropic_error("invalid_request_error", message))


def authentication_error(message: str = "invalid x-api-key") -> Status:
    return Status(401, anthropic_error("authentication_error", message))


def not_found(model: str) -> Status:
    return Status(404, anthropic_error("not_found_error", f"model: {model}"))


def rate_limited(retry_after: str | None = "0.05", retry_after_ms: str | None = None) -> Status:
    """429 with the recorded message, Anthropic's rate-limit headers and retry headers."""
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-08-21T12:40:59Z",
        **retry_headers(retry_after, retry_after_ms),
    }
    return Status(429, load_fixture_json("error_429_rate_limit_error.json"), headers)


def overloaded(retry_after: str | None = None) -> Status:
    """529 ``overloaded_error``: Anthropic is at capacity for everyone."""
    return Status(
        529, load_fixture_json("error_529_overloaded_error.json"), retry_headers(retry_after)
    )


class FakeAnthropicServer(LoopbackServer):
    """Anthropic Messages fake; every constructor argument is a public attribute (``common``:
    the options of :class:`~tests.fakes.loopback.LoopbackServer`). ``base_url`` is the root,
    as ``ANTHROPIC_BASE_URL`` is (the SDK adds ``/v1``)."""

    fixtures_dir = FIXTURES_DIR
    thread_name = "fake-anthropic-server"

    def __init__(
        self,
        *,
        hidden_thinking_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        response_model: str | None = None,
        **common: Any,
    ) -> None:
        self.hidden_thinking_tokens = hidden_thinking_tokens
        self.cache_read_tokens = cache_read_tokens
        self.cache_write_tokens = cache_write_tokens
        self.cache_write_1h_tokens = cache_write_1h_tokens
        self.response_model = response_model
        self.served_tier: str | None = None
        """``usage.service_tier`` of every message (``priority``, ``batch`` …); None:
        ``standard`` (what an organisation without Priority Tier capacity is served)."""
        super().__init__(**common)

    @property
    def message_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == "/v1/messages"]

    def encode_event(self, event: JSONDict) -> bytes:
        return sse_event(event)

    def route(self, h: Handler, request: RecordedRequest) -> None:
        if request.method == "POST" and request.route == "/v1/messages":
            self.serve(h, request)
        else:
            self.send_status(h, Status(404, anthropic_error("not_found_error", "Not Found")))

    # -- validation -------------------------------------------------------------------

    def header_failure(self, request: RecordedRequest) -> Status | None:
        """The error the real API gives a request without the right key or version."""
        headers = request.headers
        if self.require_api_key is not None:
            key = headers.get("x-api-key")
            if not key:
                return authentication_error("x-api-key header is required")
            if key != self.require_api_key:
                return authentication_error()
        if headers.get("anthropic-version") != VERSION:
            return invalid_request("anthropic-version: header is required")
        return None

    def reject(self, request: RecordedRequest) -> Status | None:
        failure = self.header_failure(request)
        if failure is not None:
            return failure
        if not isinstance(request.body, dict):
            return invalid_request("There was an error parsing the body of your request")
        return self.body_failure(request.json)

    def body_failure(self, body: JSONDict) -> Status | None:
        """The error the real API gives a ``POST /v1/messages`` body, if any."""
        if "max_tokens" not in body:
            return invalid_request("max_tokens: Field required")
        for extra in ("n", "seed", "candidateCount"):
            if extra in body:
                return invalid_request(f"{extra}: Extra inputs are not permitted")
        for message in body.get("messages") or ():
            if isinstance(message, dict) and message.get("role") == "system":
                return invalid_request(
                    'messages: Unexpected role "system". The Messages API accepts a top-level '
                    '`system` parameter, not "system" as an input message role.'
                )
        thinking = body.get("thinking") or {}
        if thinking.get("type") == "enabled":
            budget = int(thinking.get("budget_tokens") or 0)
            if budget < 1024:
                return invalid_request(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                )
            if budget >= int(body["max_tokens"]):
                return Status(400, load_fixture_json("error_400_invalid_request_error.json"))
        if thinking.get("type") in ("enabled", "adaptive") and body.get("temperature", 1) != 1:
            return invalid_request(
                "`temperature` may only be set to 1 when thinking is enabled or in adaptive mode. "
                "Please consult our documentation at https://docs.claude.com/en/docs/"
                "build-with-claude/extended-thinking#important-considerations-when-using-"
                "extended-thinking"
            )
        model = str(body.get("model"))
        if self.known_models is not None and model not in self.known_models:
            return not_found(model)
        return None

    # -- generation -------------------------------------------------------------------

    def _output(self, body: JSONDict, gen: Generate) -> Spent:
        thinks = (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
        thinking, text = self.texts(gen, body)
        hidden = self.hidden_thinking_tokens if thinks else 0
        limit = None if self.ignore_max_tokens else int(body["max_tokens"])
        return spend(limit, hidden, thinking if thinks else [], text)

    def _usage(self, body: JSONDict, output: Spent) -> JSONDict:
        system = body.get("system")
        prompt = count_tokens(system) if isinstance(system, str) else 0
        for message in body.get("messages") or ():
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                prompt += count_tokens(content)
        read = min(self.cache_read_tokens, prompt)
        written = min(self.cache_write_tokens, prompt - read)
        written_1h = min(self.cache_write_1h_tokens, written)
        usage: JSONDict = {
            "input_tokens": prompt - read - written,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": written - written_1h,
                "ephemeral_1h_input_tokens": written_1h,
            },
            "output_tokens": output.tokens,
            "service_tier": self.served_tier or "standard",
        }
        if output.hidden or output.reasoning:
            usage["output_tokens_details"] = {"thinking_tokens": output.reasoning_tokens}
        return {**usage, **self.usage_override}

    def _message(self, body: JSONDict, output: Spent, number: int) -> JSONDict:
        content: list[JSONDict] = []
        if output.reasoning or output.hidden:
            content.append(
                {"type": "thinking", "thinking": "".join(output.reasoning), "signature": "c2ln"}
            )
        content.append({"type": "text", "text": "".join(output.answer)})
        return {
            "id": f"msg_fake{number:08d}",
            "type": "message",
            "role": "assistant",
            "model": self.response_model or str(body.get("model")),
            "content": content,
            "stop_reason": _stop_reason(output),
            "stop_sequence": None,
            "usage": self._usage(body, output),
        }

    def _events(self, body: JSONDict, output: Spent, number: int) -> list[bytes]:
        message = self._message(body, output, number)
        usage = message["usage"]
        start_usage = {**usage, "output_tokens": 1}
        start_usage.pop("output_tokens_details", None)
        events: list[JSONDict] = [
            {
                "type": "message_start",
                "message": {**message, "content": [], "stop_reason": None, "usage": start_usage},
            },
        ]
        index = 0
        if output.reasoning or output.hidden:
            events.append(
                _block_start(index, {"type": "thinking", "thinking": "", "signature": ""})
            )
            events.append({"type": "ping"})
            events += [
                _delta(index, {"type": "thinking_delta", "thinking": t}) for t in output.reasoning
            ]
            events.append(_delta(index, {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}))
            events.append({"type": "content_block_stop", "index": index})
            index += 1
        events.append(_block_start(index, {"type": "text", "text": ""}))
        if index == 0:
            events.append({"type": "ping"})
        events += [_delta(index, {"type": "text_delta", "text": t}) for t in output.answer]
        events.append({"type": "content_block_stop", "index": index})
        final = {k: v for k, v in usage.items() if k not in ("cache_creation", "service_tier")}
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": _stop_reason(output), "stop_sequence": None},
                "usage": final,
            }
        )
        events.append({"type": "message_stop"})
        return [sse_event(e) for e in events]

    def generate(
        self, h: Handler, request: RecordedRequest, gen: Generate, fault: Fault | None
    ) -> None:
        body = request.json
        number = self.next_number()
        output = self._output(body, gen)
        delay, chunk_delay = self.timing(gen)
        headers = {
            "request-id": _rid(f"fake-anthropic-{number}"),
            "anthropic-organization-id": "4d3b1a9e-0f6c-4d8e-9c0a-5b7f2e1d3c4b",
            **self.extra_headers,
        }
        if not body.get("stream"):
            if isinstance(fault, ErrorInStream):
                payload = self.error_body(fault)
            else:
                payload = self._message(body, output, number)
            self.send_body(h, json_bytes(payload, indent=2), fault, headers=headers, delay=delay)
            return
        self.send_stream(
            h,
            self._events(body, output, number),
            fault,
            headers=headers,
            delay=delay,
            chunk_delay=chunk_delay,
        )

    def error_blocks(self, fault: ErrorInStream) -> list[bytes]:
        return [sse_event(self.error_body(fault))]

    def error_body(self, fault: ErrorInStream) -> JSONDict:
        error = fault.error or {"type": "overloaded_error", "message": "Overloaded"}
        return {"type": "error", "error": error}


def _stop_reason(output: Spent) -> str:
    return "max_tokens" if output.cut else "end_turn"


def _block_start(index: int, block: JSONDict) -> JSONDict:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, delta: JSONDict) -> JSONDict:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def stream_payloads(raw: str) -> Iterator[tuple[str, Any]]:
    """``(event name, parsed data)`` for each event of an Anthropic SSE body."""
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            yield name, json.loads("\n".join(data))


def claude_usage(fixture: str) -> JSONDict:
    """The final usage of a recorded stream: ``message_start``'s, updated by each
    ``message_delta``'s (computed here without the provider's parser)."""
    usage: JSONDict = {}
    raw = FakeAnthropicServer.fixture_path(fixture).read_text(encoding="utf-8")
    for name, data in stream_payloads(raw):
        if name == "message_start":
            usage.update(data["message"]["usage"])
        elif name == "message_delta":
            usage.update(data["usage"])
    return usage


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropicServer]:
    """A fresh server per test; fails the test if a handler thread crashed."""
    yield from serving(FakeAnthropicServer())
