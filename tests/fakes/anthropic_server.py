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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fakes.behaviours import (
    DEFAULT_ANSWER,
    DEFAULT_REASONING,
    FIXTURES_ROOT,
    AnswerSource,
    ErrorInStream,
    Fault,
    Generate,
    JSONDict,
    RecordedRequest,
    Status,
    count_tokens,
    json_bytes,
    resolve,
    split_tokens,
)
from tests.fakes.loopback import Handler, LoopbackServer

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
    }
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    return Status(429, load_fixture_json("error_429_rate_limit_error.json"), headers)


def overloaded(retry_after: str | None = None) -> Status:
    """529 ``overloaded_error``: Anthropic is at capacity for everyone."""
    headers = {} if retry_after is None else {"retry-after": retry_after}
    return Status(529, load_fixture_json("error_529_overloaded_error.json"), headers)


@dataclass
class _Output:
    thinking: list[str]
    text: list[str]
    hidden: int
    stop_reason: str

    @property
    def tokens(self) -> int:
        return self.hidden + len(self.thinking) + len(self.text)


class FakeAnthropicServer(LoopbackServer):
    """Anthropic Messages fake; every constructor argument is a public attribute."""

    fixtures_dir = FIXTURES_DIR
    thread_name = "fake-anthropic-server"

    def __init__(
        self,
        *,
        answer: AnswerSource = DEFAULT_ANSWER,
        reasoning: AnswerSource = DEFAULT_REASONING,
        hidden_thinking_tokens: int = 0,
        require_api_key: str | None = None,
        known_models: Sequence[str] | None = None,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        response_model: str | None = None,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        extra_headers: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.answer: AnswerSource = answer
        self.reasoning: AnswerSource = reasoning
        """Thinking text, sent when the request enables thinking."""
        self.hidden_thinking_tokens = hidden_thinking_tokens
        self.require_api_key = require_api_key
        """If set, ``x-api-key`` must equal it (401 ``authentication_error`` otherwise)."""
        self.known_models: Sequence[str] | None = known_models
        """If set, other models get 404 ``not_found_error``."""
        self.cache_read_tokens = cache_read_tokens
        self.cache_write_tokens = cache_write_tokens
        self.cache_write_1h_tokens = cache_write_1h_tokens
        self.response_model = response_model
        super().__init__(
            delay=delay, chunk_delay=chunk_delay, extra_headers=extra_headers, host=host
        )

    @property
    def base_url(self) -> str:
        """What ``ANTHROPIC_BASE_URL`` is set to: no ``/v1`` (the SDK adds it)."""
        return self.root_url

    def __enter__(self) -> FakeAnthropicServer:
        return self

    @property
    def message_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == "/v1/messages"]

    def encode_event(self, event: JSONDict) -> bytes:
        return _event(event)

    def route(self, h: Handler, request: RecordedRequest) -> None:
        if request.method == "POST" and request.route == "/v1/messages":
            self.serve(h, request)
        else:
            self.send_status(h, Status(404, anthropic_error("not_found_error", "Not Found")))

    # -- validation -------------------------------------------------------------------

    def _failure(self, request: RecordedRequest) -> Status | None:
        headers = request.headers
        if self.require_api_key is not None:
            key = headers.get("x-api-key")
            if not key:
                return authentication_error("x-api-key header is required")
            if key != self.require_api_key:
                return authentication_error()
        if headers.get("anthropic-version") != VERSION:
            return invalid_request("anthropic-version: header is required")
        if not isinstance(request.body, dict):
            return invalid_request("There was an error parsing the body of your request")
        return self._body_failure(request.json)

    def _body_failure(self, body: JSONDict) -> Status | None:
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

    def _output(self, body: JSONDict, gen: Generate) -> _Output:
        thinks = (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
        reasoning = gen.reasoning if gen.reasoning is not None else self.reasoning
        answer = gen.answer if gen.answer is not None else self.answer
        hidden = self.hidden_thinking_tokens if thinks else 0
        thinking = split_tokens(resolve(reasoning, body, 0)) if thinks else []
        text = split_tokens(resolve(answer, body, 0))
        budget = int(body["max_tokens"])
        kept_hidden = min(hidden, budget)
        kept_thinking = thinking[: budget - kept_hidden]
        kept_text = text[: budget - kept_hidden - len(kept_thinking)]
        cut = (kept_hidden, len(kept_thinking), len(kept_text)) != (
            hidden,
            len(thinking),
            len(text),
        )
        return _Output(kept_thinking, kept_text, kept_hidden, "max_tokens" if cut else "end_turn")

    def _usage(self, body: JSONDict, output: _Output) -> JSONDict:
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
            "service_tier": "standard",
        }
        if output.hidden or output.thinking:
            usage["output_tokens_details"] = {
                "thinking_tokens": output.hidden + len(output.thinking)
            }
        return usage

    def _message(self, body: JSONDict, output: _Output, number: int) -> JSONDict:
        content: list[JSONDict] = []
        if output.thinking or output.hidden:
            content.append(
                {"type": "thinking", "thinking": "".join(output.thinking), "signature": "c2ln"}
            )
        content.append({"type": "text", "text": "".join(output.text)})
        return {
            "id": f"msg_fake{number:08d}",
            "type": "message",
            "role": "assistant",
            "model": self.response_model or str(body.get("model")),
            "content": content,
            "stop_reason": output.stop_reason,
            "stop_sequence": None,
            "usage": self._usage(body, output),
        }

    def _events(self, body: JSONDict, output: _Output, number: int) -> list[bytes]:
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
        if output.thinking or output.hidden:
            events.append(
                _block_start(index, {"type": "thinking", "thinking": "", "signature": ""})
            )
            events.append({"type": "ping"})
            events += [
                _delta(index, {"type": "thinking_delta", "thinking": t}) for t in output.thinking
            ]
            events.append(_delta(index, {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}))
            events.append({"type": "content_block_stop", "index": index})
            index += 1
        events.append(_block_start(index, {"type": "text", "text": ""}))
        if index == 0:
            events.append({"type": "ping"})
        events += [_delta(index, {"type": "text_delta", "text": t}) for t in output.text]
        events.append({"type": "content_block_stop", "index": index})
        final = {k: v for k, v in usage.items() if k not in ("cache_creation", "service_tier")}
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": output.stop_reason, "stop_sequence": None},
                "usage": final,
            }
        )
        events.append({"type": "message_stop"})
        return [_event(e) for e in events]

    def generate(
        self, h: Handler, request: RecordedRequest, gen: Generate, fault: Fault | None
    ) -> None:
        failure = self._failure(request)
        if failure is not None:
            self.send_status(h, failure)
            return
        body = request.json
        number = self.next_number()
        output = self._output(body, gen)
        delay = gen.delay if gen.delay is not None else self.delay
        chunk_delay = gen.chunk_delay if gen.chunk_delay is not None else self.chunk_delay
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
        return [_event(self.error_body(fault))]

    def error_body(self, fault: ErrorInStream) -> JSONDict:
        error = fault.error or {"type": "overloaded_error", "message": "Overloaded"}
        return {"type": "error", "error": error}


def _event(event: JSONDict) -> bytes:
    """A named SSE event, as Anthropic sends them: ``event: <type>`` then ``data:``."""
    name = str(event.get("type") or "message")
    return b"event: " + name.encode() + b"\ndata: " + json_bytes(event) + b"\n\n"


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


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropicServer]:
    """A fresh server per test; fails the test if a handler thread crashed."""
    with FakeAnthropicServer() as server:
        yield server
    server.assert_no_errors()
