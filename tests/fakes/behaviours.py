"""What the fake provider servers send: scripted behaviours, recorded requests, and the
payload and token helpers their wire-format layers share (:mod:`tests.fakes.loopback` is the
server machinery that plays them).

Behaviours, queued with ``server.script(...)`` and served in order before falling back to
"generate": :class:`Status` (an error response), :class:`Fixture` (a recorded payload
replayed verbatim), :class:`SseEvents` (arbitrary events), :class:`Hangup` (a dropped
connection), and the faults applied to a generated answer: :class:`CutStream`,
:class:`Stall`, :class:`ErrorInStream`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from tests.paths import FIXTURES

__all__ = [
    "DEFAULT_ANSWER",
    "DEFAULT_REASONING",
    "FIXTURES_ROOT",
    "AnswerSource",
    "Behaviour",
    "CutStream",
    "ErrorInStream",
    "Fault",
    "Fixture",
    "Generate",
    "Hangup",
    "JSONDict",
    "RecordedRequest",
    "Spent",
    "SseEvents",
    "Stall",
    "Status",
    "count_tokens",
    "json_bytes",
    "parse_sse",
    "resolve",
    "spend",
    "split_tokens",
    "sse_data",
    "stall_before_headers",
    "stall_mid_stream",
]

JSONDict: TypeAlias = dict[str, Any]
AnswerSource: TypeAlias = str | Callable[[JSONDict, int], str]
"""Either fixed text, or ``f(request_body, choice_index) -> text``."""

DEFAULT_ANSWER = "The answer is 4."
DEFAULT_REASONING = "The user asks for 2 + 2. Two plus two is four."
FIXTURES_ROOT = FIXTURES


# --------------------------------------------------------------------------------------
# Payload and token helpers
# --------------------------------------------------------------------------------------


def json_bytes(obj: Any, indent: int | None = None) -> bytes:
    if indent is None:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return (json.dumps(obj, indent=indent, ensure_ascii=False) + "\n").encode()


def sse_data(obj: Any) -> bytes:
    """One unnamed SSE event: ``data: <json>``."""
    return b"data: " + json_bytes(obj) + b"\n\n"


def sse_event(event: JSONDict) -> bytes:
    """A named SSE event, as Anthropic and the Responses API send them: ``event: <type>``
    (``message`` when it has none), then ``data: <json>``."""
    name = str(event.get("type") or "message")
    return b"event: " + name.encode() + b"\ndata: " + json_bytes(event) + b"\n\n"


def retry_headers(retry_after: str | None, retry_after_ms: str | None = None) -> dict[str, str]:
    """``retry-after`` / ``retry-after-ms`` headers, those given."""
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    return headers


def parse_sse(text: str) -> list[str]:
    """Split an SSE body into the ``data`` payloads of its events (comments dropped).

    Multi-line ``data:`` fields are joined with newlines, per the SSE spec.
    """
    payloads: list[str] = []
    for block in re.split(r"\r?\n\r?\n", text):
        data = [
            line[5:].removeprefix(" ")
            for line in re.split(r"\r?\n", block)
            if line.startswith("data:")
        ]
        if data:
            payloads.append("\n".join(data))
    return payloads


def split_tokens(text: str) -> list[str]:
    """Split text into per-word deltas whose concatenation is exactly ``text``."""
    pieces = re.findall(r"\s*\S+", text)
    if not pieces:
        return [text] if text else []
    tail = text[sum(len(p) for p in pieces) :]
    if tail:
        pieces[-1] += tail
    return pieces


def count_tokens(text: str) -> int:
    """The fakes' tokenizer: one token per whitespace-separated word."""
    return len(text.split())


@dataclass(frozen=True)
class Spent:
    """What fits in an output limit: hidden reasoning tokens, reasoning words, answer words."""

    hidden: int
    reasoning: list[str]
    answer: list[str]
    cut: bool
    """Something did not fit (the finish reason is the wire format's "length")."""

    @property
    def reasoning_tokens(self) -> int:
        return self.hidden + len(self.reasoning)

    @property
    def tokens(self) -> int:
        return self.reasoning_tokens + len(self.answer)


def spend(limit: int | None, hidden: int, reasoning: list[str], answer: list[str]) -> Spent:
    """Spend an output limit the way reasoning models do: hidden reasoning tokens first,
    then the shown reasoning, then the answer (all three share the limit)."""
    if limit is None:
        return Spent(hidden, reasoning, answer, cut=False)
    budget = max(0, limit)
    kept_hidden = min(hidden, budget)
    kept_reasoning = reasoning[: budget - kept_hidden]
    kept_answer = answer[: budget - kept_hidden - len(kept_reasoning)]
    cut = (kept_hidden, kept_reasoning, kept_answer) != (hidden, reasoning, answer)
    return Spent(kept_hidden, kept_reasoning, kept_answer, cut)


def resolve(source: AnswerSource, body: JSONDict, index: int) -> str:
    return source(body, index) if callable(source) else source


# --------------------------------------------------------------------------------------
# Behaviours (scriptable with server.script(...))
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generate:
    """The default behaviour, with optional per-request overrides."""

    answer: AnswerSource | None = None
    reasoning: AnswerSource | None = None
    delay: float | None = None
    chunk_delay: float | None = None


@dataclass(frozen=True)
class Status:
    """Reply with ``code`` and ``body`` (dict -> JSON, str -> sent verbatim) and headers."""

    code: int
    body: JSONDict | str = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fixture:
    """Replay ``tests/fixtures/<wire format>/<name>`` verbatim.

    ``.sse`` files are sent chunked as ``text/event-stream``, one HTTP chunk per SSE event
    (comment blocks included), with ``chunk_delay`` between events; ``.json`` files are
    sent with ``Content-Length`` as ``application/json``.
    """

    name: str
    chunk_delay: float = 0.0
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CutStream:
    """Start a normal answer, then drop the connection after ``after_events`` data events.

    No terminating zero-length chunk, no end-of-stream event, no final usage. httpx raises
    ``httpx.RemoteProtocolError`` (incomplete chunked read). For a non-streaming request the
    headers (with the full ``Content-Length``) and half of the body are sent.
    """

    after_events: int


@dataclass(frozen=True)
class Stall:
    """Send nothing for ``seconds``, then carry on with the normal answer.

    ``after_events=None`` stalls before the status line and headers. An integer stalls
    after the headers and that many data events (0 = headers only); for a non-streaming
    request any integer means "after the headers, before the body". Server shutdown
    interrupts a stall at once (the connection is then dropped).
    """

    seconds: float
    after_events: int | None = None


@dataclass(frozen=True)
class ErrorInStream:
    """HTTP 200 stream that, after ``after_events`` data events, sends the wire format's
    in-stream error event carrying ``error`` (the server's typical error when None) and ends
    cleanly (an OpenAI-style ``[DONE]`` follows only if ``done``).

    For a non-streaming request: HTTP 200 with the wire format's error body.
    """

    after_events: int
    error: JSONDict | None = None
    done: bool = False


@dataclass(frozen=True)
class SseEvents:
    """Stream arbitrary events: dicts are sent as the wire format encodes them (a ``data:``
    line; Anthropic adds the ``event:`` line); strings are sent as raw SSE blocks (e.g.
    ``": comment"`` or ``"data: {...}"``; the blank-line separator is added). The wire
    format's terminator (``data: [DONE]``, if it has one) is appended when ``done``."""

    events: Sequence[JSONDict | str]
    chunk_delay: float = 0.0
    done: bool = True
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hangup:
    """Close the connection without sending anything (a reset before the status line:
    httpx raises ``RemoteProtocolError``, "Server disconnected without sending a response")."""


Behaviour: TypeAlias = (
    Generate | Status | Fixture | CutStream | Stall | ErrorInStream | SseEvents | Hangup
)
Fault: TypeAlias = CutStream | Stall | ErrorInStream


def stall_before_headers(seconds: float) -> Stall:
    return Stall(seconds)


def stall_mid_stream(seconds: float, after_events: int = 2) -> Stall:
    return Stall(seconds, after_events=after_events)


# --------------------------------------------------------------------------------------
# Recorded requests
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    """Path as received, including any query string."""
    headers: dict[str, str]
    """Header names lower-cased (repeated headers joined with ", ")."""
    body: Any
    """Parsed JSON body, or ``None`` when empty or not JSON."""
    raw_body: bytes
    time: float
    """``time.time()`` when the request line arrived."""
    monotonic: float
    """``time.monotonic()`` when the request line arrived (use for intervals)."""
    client_port: int = 0
    """Client's source port: equal ports mean one reused keep-alive connection."""

    @property
    def json(self) -> JSONDict:
        if not isinstance(self.body, dict):
            raise TypeError(f"request body is not a JSON object: {self.raw_body!r}")
        return self.body

    @property
    def route(self) -> str:
        """The path without its query string."""
        return self.path.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.path.split("?", 1)[1] if "?" in self.path else ""
