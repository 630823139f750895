"""A real HTTP server on 127.0.0.1 that speaks the OpenAI Chat Completions wire format.

It is the test double for every provider test: clients talk to it over real sockets with
real HTTP/1.1 (keep-alive, ``Transfer-Encoding: chunked`` SSE streams flushed event by
event), so framing, timeouts, retries and connection handling are exercised for real.
The server side uses the standard library only.

Quick start::

    with FakeOpenAIServer() as server:
        client = httpx.Client(base_url=server.base_url)
        r = client.post("/chat/completions", json={"model": "gpt-4o-mini", "messages": [...]})
        assert server.requests[-1].body["model"] == "gpt-4o-mini"

    server.script(rate_limited(retry_after="0.05"), Generate(answer="ok"))

Routes (``/v1`` prefix optional, so DeepSeek-style base URLs without ``/v1`` work too):

* ``POST /v1/chat/completions`` -- scripted behaviour if one is queued, else "generate".
* ``GET /v1/models`` and ``GET /v1/models/{id}`` -- OpenAI list / model objects.
* anything else -- OpenAI's 404 ``Invalid URL (METHOD /path)`` body.

Token counting (deterministic, documented so tests can predict usage):

* one token per whitespace-separated word: ``count_tokens(text) == len(text.split())``;
* ``prompt_tokens`` = sum of ``count_tokens`` over every message's text content (string
  content, or the ``text`` of list content parts); counted once even when ``n > 1``;
* ``completion_tokens`` = emitted reasoning words + emitted answer words +
  ``hidden_reasoning_tokens``, summed over all ``n`` choices;
  ``completion_tokens_details.reasoning_tokens`` = the reasoning part of that;
* ``prompt_tokens_details.cached_tokens`` = ``min(server.cached_tokens, prompt_tokens)``.

Streams split text into one delta per token: ``"The answer is 4."`` is streamed as
``"The"``, ``" answer"``, ``" is"``, ``" 4."`` (leading whitespace stays with its word, so
concatenating the deltas gives back the exact text).

``max_completion_tokens`` (preferred) or ``max_tokens`` caps the completion per choice:
hidden reasoning tokens are spent first, then visible reasoning words, then answer words;
if anything was cut the choice finishes with ``"length"``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, TypeAlias

import pytest

__all__ = [
    "DEFAULT_ANSWER",
    "DEFAULT_MODELS",
    "DEFAULT_REASONING",
    "FIXTURES_DIR",
    "AnswerSource",
    "Behaviour",
    "CutStream",
    "ErrorInStream",
    "FakeOpenAIServer",
    "Fixture",
    "Generate",
    "RecordedRequest",
    "SseEvents",
    "Stall",
    "Status",
    "bad_request",
    "count_tokens",
    "fake_openai",
    "fixture_path",
    "insufficient_quota",
    "invalid_api_key",
    "llama_server_n_error",
    "load_fixture_json",
    "load_fixture_text",
    "missing_api_key",
    "model_not_found",
    "openai_error",
    "overloaded",
    "parse_sse",
    "prompt_tokens",
    "rate_limited",
    "server_error",
    "split_tokens",
    "stall_before_headers",
    "stall_mid_stream",
    "unsupported_max_tokens",
]

JSONDict: TypeAlias = dict[str, Any]
AnswerSource: TypeAlias = str | Callable[[JSONDict, int], str]
"""Either fixed text, or ``f(request_body, choice_index) -> text``."""

UsageInStream: TypeAlias = Literal["include_usage", "always", "never"]
UsagePlacement: TypeAlias = Literal["separate", "finish_chunk"]
ReasoningField: TypeAlias = Literal["reasoning_content", "reasoning"]

DEFAULT_ANSWER = "The answer is 4."
DEFAULT_REASONING = "The user asks for 2 + 2. Two plus two is four."
DEFAULT_MODELS: tuple[str, ...] = ("gpt-4o-mini", "gpt-4o", "o4-mini")
FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "openai"

_SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
_JSON_CONTENT_TYPE = "application/json"
_KEEPALIVE_COMMENT = b": OPENROUTER PROCESSING\n\n"
_DONE_EVENT = b"data: [DONE]\n\n"
_CLOSE_JOIN_TIMEOUT = 5.0


# --------------------------------------------------------------------------------------
# Fixtures and error bodies
# --------------------------------------------------------------------------------------


def fixture_path(name: str) -> Path:
    """Path of a recorded payload in ``tests/fixtures/openai``."""
    path = FIXTURES_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"no such fixture: {path}")
    return path


def load_fixture_text(name: str) -> str:
    return fixture_path(name).read_text(encoding="utf-8")


def load_fixture_json(name: str) -> JSONDict:
    data = json.loads(load_fixture_text(name))
    if not isinstance(data, dict):
        raise TypeError(f"fixture {name} is not a JSON object")
    return data


def openai_error(
    message: str,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> JSONDict:
    """OpenAI's error envelope: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


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


# --------------------------------------------------------------------------------------
# Token helpers
# --------------------------------------------------------------------------------------


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
    """The fake's tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """``prompt_tokens`` the fake reports for a request body (see module docstring)."""
    total = 0
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            total += count_tokens(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += count_tokens(part["text"])
    return total


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
    """Replay ``tests/fixtures/openai/<name>`` verbatim.

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

    No terminating zero-length chunk, no ``[DONE]``, no usage. httpx raises
    ``httpx.RemoteProtocolError`` (incomplete chunked read). For a non-streaming request
    the headers (with the full ``Content-Length``) and half of the body are sent.
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
    """HTTP 200 stream that, after ``after_events`` data events, sends
    ``data: {"error": <error>}`` and ends cleanly (``[DONE]`` only if ``done``).

    For a non-streaming request: HTTP 200 with JSON body ``{"error": <error>}``.
    """

    after_events: int
    error: JSONDict = field(
        default_factory=lambda: openai_error(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
        )["error"]
    )
    done: bool = False


@dataclass(frozen=True)
class SseEvents:
    """Stream arbitrary events: dicts are sent as ``data: <json>``; strings are sent as
    raw SSE blocks (e.g. ``": comment"`` or ``"data: {...}"``; the blank-line separator is
    added). ``data: [DONE]`` is appended when ``done``."""

    events: Sequence[JSONDict | str]
    chunk_delay: float = 0.0
    done: bool = True
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


Behaviour: TypeAlias = Generate | Status | Fixture | CutStream | Stall | ErrorInStream | SseEvents


def stall_before_headers(seconds: float) -> Stall:
    return Stall(seconds)


def stall_mid_stream(seconds: float, after_events: int = 2) -> Stall:
    return Stall(seconds, after_events=after_events)


def _retry_headers(retry_after: str | None, retry_after_ms: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    return headers


def rate_limited(
    retry_after: str | None = "0.05",
    retry_after_ms: str | None = None,
    body: JSONDict | None = None,
) -> Status:
    """429 ``rate_limit_exceeded`` (real message text) with retry and x-ratelimit headers."""
    headers = {
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-reset-tokens": "300ms",
        **_retry_headers(retry_after, retry_after_ms),
    }
    return Status(429, body or load_fixture_json("error_429_rate_limit_exceeded.json"), headers)


def insufficient_quota() -> Status:
    """429 ``insufficient_quota`` (out of credit; must not be retried). No retry-after."""
    return Status(429, load_fixture_json("error_429_insufficient_quota.json"))


def server_error(
    code: int = 500, retry_after: str | None = None, retry_after_ms: str | None = None
) -> Status:
    """OpenAI's generic 500 ``server_error`` body (status ``code``; e.g. 502)."""
    return Status(
        code,
        load_fixture_json("error_500_server_error.json"),
        _retry_headers(retry_after, retry_after_ms),
    )


def overloaded(
    code: int = 503, retry_after: str | None = None, retry_after_ms: str | None = None
) -> Status:
    """'That model is currently overloaded' ``server_error`` (503; pass 529 for Anthropic's
    overload status on an OpenAI-wire gateway)."""
    return Status(
        code,
        load_fixture_json("error_503_overloaded.json"),
        _retry_headers(retry_after, retry_after_ms),
    )


def _mask_key(key: str) -> str:
    return f"{key[:5]}***" if len(key) <= 12 else f"{key[:5]}***{key[-4:]}"


def invalid_api_key(key: str | None = None) -> Status:
    """401 ``invalid_api_key``; with ``key`` the message shows it masked like OpenAI does."""
    body = load_fixture_json("error_401_invalid_api_key.json")
    if key is not None:
        body["error"]["message"] = (
            f"Incorrect API key provided: {_mask_key(key)}. You can find your API key at "
            "https://platform.openai.com/account/api-keys."
        )
    return Status(401, body)


def missing_api_key() -> Status:
    """401 sent when there is no ``Authorization`` header at all (``code: null``)."""
    return Status(401, load_fixture_json("error_401_missing_api_key.json"))


def model_not_found(model: str = "gpt-9-turbo") -> Status:
    return Status(
        404,
        openai_error(
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
        ),
    )


def unsupported_max_tokens() -> Status:
    """400 an o-series / gpt-5 model returns for ``max_tokens``."""
    return Status(400, load_fixture_json("error_400_max_tokens_unsupported.json"))


def bad_request(message: str, param: str | None = None, code: str | None = None) -> Status:
    return Status(400, openai_error(message, "invalid_request_error", param, code))


def llama_server_n_error() -> Status:
    """llama-server's answer to ``n > 1``: HTTP 500, ``{"error":{"code":500,...}}``."""
    return Status(500, load_fixture_json("error_500_llama_server_n.json"))


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


# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------


class _Abort(Exception):
    """Drop the connection without finishing the response."""


@dataclass
class _Choice:
    index: int
    reasoning: list[str]
    content: list[str]
    hidden_reasoning: int
    finish_reason: str

    @property
    def completion_tokens(self) -> int:
        return self.hidden_reasoning + len(self.reasoning) + len(self.content)

    @property
    def reasoning_tokens(self) -> int:
        return self.hidden_reasoning + len(self.reasoning)


def _json_bytes(obj: Any, indent: int | None = None) -> bytes:
    if indent is None:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return (json.dumps(obj, indent=indent, ensure_ascii=False) + "\n").encode()


def _sse(obj: Any) -> bytes:
    return b"data: " + _json_bytes(obj) + b"\n\n"


def _resolve(source: AnswerSource, body: JSONDict, index: int) -> str:
    return source(body, index) if callable(source) else source


# --------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default listen backlog is 5: a burst of concurrent connections beyond
    # it has SYNs dropped and retried after a second, which would serialise the requests.
    request_queue_size = 128

    def __init__(self, owner: FakeOpenAIServer, host: str) -> None:
        self.owner = owner
        self._lock = threading.Lock()
        self._conn_threads: set[threading.Thread] = set()
        self._connections: set[socket.socket] = set()
        super().__init__((host, 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"fake-openai-conn-{client_address[1]}",
            daemon=True,
        )
        with self._lock:
            self._conn_threads.add(thread)
            self._connections.add(request)
        thread.start()

    def _serve_connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._connections.discard(request)
                self._conn_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError) or self.owner.closing:
            return
        self.owner.errors.append(traceback.format_exc())
        traceback.print_exc()

    def drop_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def live_threads(self) -> list[threading.Thread]:
        with self._lock:
            return list(self._conn_threads)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            self.server.owner._handle(self)
        except (_Abort, ConnectionError):
            self.close_connection = True

    # -- request ----------------------------------------------------------------------

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # -- response ---------------------------------------------------------------------

    def start(self, status: int, headers: Mapping[str, str], length: int | None) -> None:
        """Status line + headers; ``length=None`` means a chunked body follows."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))

    def end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def send_bytes(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.start(status, headers, len(body))
        self.wfile.write(body)


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


class FakeOpenAIServer:
    """OpenAI-compatible fake on ``127.0.0.1:<random port>``.

    Every constructor argument is also a public attribute that may be changed between
    requests. See the module docstring for token counting.
    """

    def __init__(
        self,
        *,
        answer: AnswerSource = DEFAULT_ANSWER,
        reasoning: AnswerSource = DEFAULT_REASONING,
        reasoning_field: ReasoningField | None = None,
        hidden_reasoning_tokens: int = 0,
        supports_n: bool = True,
        usage_in_stream: UsageInStream = "include_usage",
        usage_placement: UsagePlacement = "separate",
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        require_api_key: str | None = None,
        known_models: Sequence[str] | None = None,
        report_cost: bool | float = False,
        keepalive_comments: int = 0,
        cached_tokens: int = 0,
        response_model: str | None = None,
        system_fingerprint: str | None = "fp_f4k3c0ffee",
        extra_headers: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.answer: AnswerSource = answer
        """Answer text, or ``f(body, choice_index) -> text``."""
        self.reasoning: AnswerSource = reasoning
        """Reasoning text, streamed only when ``reasoning_field`` is set."""
        self.reasoning_field: ReasoningField | None = reasoning_field
        """None (OpenAI), "reasoning_content" (DeepSeek, llama.cpp) or "reasoning" (vLLM
        >= 0.11, Ollama, OpenRouter). Reasoning deltas come before content deltas."""
        self.hidden_reasoning_tokens = hidden_reasoning_tokens
        """Reasoning tokens billed but never shown (o-series), per choice."""
        self.supports_n = supports_n
        """False: ``n > 1`` gets llama-server's HTTP 500 error."""
        self.usage_in_stream: UsageInStream = usage_in_stream
        """"include_usage" honours ``stream_options.include_usage`` (OpenAI); "always" sends
        usage regardless (llama-server, OpenRouter); "never" (llama-cpp-python)."""
        self.usage_placement: UsagePlacement = usage_placement
        """"separate": extra chunk with ``choices: []`` (OpenAI); "finish_chunk": usage rides
        on the last finish_reason chunk (DeepSeek, llama-server, OpenRouter)."""
        self.delay = delay
        """Seconds to wait before the response starts (per request, concurrently)."""
        self.chunk_delay = chunk_delay
        """Seconds between SSE data events."""
        self.require_api_key = require_api_key
        """If set, ``Authorization: Bearer <key>`` is required (401 otherwise)."""
        self.known_models: Sequence[str] | None = known_models
        """If set, other models get OpenAI's 404 ``model_not_found``."""
        self.report_cost: bool | float = report_cost
        """OpenRouter-style ``usage.cost``: a float is reported as is; True computes
        ``prompt_tokens * 1e-6 + completion_tokens * 2e-6`` ($1 / $2 per 1M tokens)."""
        self.keepalive_comments = keepalive_comments
        """Number of ``: OPENROUTER PROCESSING`` comments sent on streams. When > 0 the
        headers go out at once and the comments are spread over ``delay``."""
        self.cached_tokens = cached_tokens
        self.response_model = response_model
        """``model`` reported in responses; default echoes the request's model."""
        self.system_fingerprint = system_fingerprint
        self.extra_headers: dict[str, str] = dict(extra_headers or {})
        """Added to every chat completion response (e.g. x-ratelimit-* headers)."""

        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []
        """Tracebacks of unexpected exceptions in handler threads (should stay empty)."""
        self.closing = False
        self.max_in_flight = 0
        """Highest number of chat completions served at the same time."""

        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._counter = 0
        self._in_flight = 0
        self._stop = threading.Event()
        self._httpd = _HTTPServer(self, host)
        self._serve_thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-openai-server",
            daemon=True,
        )
        self._serve_thread.start()
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_port

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving, interrupt stalls and delays, drop open connections and join
        every thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.closing = True
        self._stop.set()
        self._httpd.shutdown()
        self._serve_thread.join()
        self._httpd.drop_connections()
        deadline = time.monotonic() + _CLOSE_JOIN_TIMEOUT
        for thread in self._httpd.live_threads():
            thread.join(max(0.0, deadline - time.monotonic()))
        self._httpd.server_close()
        alive = [t.name for t in self._httpd.live_threads() if t.is_alive()]
        if alive:
            raise RuntimeError(f"fake OpenAI server threads did not stop: {alive}")

    def assert_no_errors(self) -> None:
        assert not self.errors, "fake OpenAI server handler crashed:\n" + "\n".join(self.errors)

    # -- scripting --------------------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next chat completion requests, in order. Once the
        queue is empty requests fall back to the default "generate" behaviour."""
        with self._lock:
            self._script.extend(behaviours)

    @property
    def pending(self) -> list[Behaviour]:
        with self._lock:
            return list(self._script)

    def reset(self) -> None:
        """Forget recorded requests and queued behaviours."""
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.max_in_flight = 0

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.split("?")[0].endswith("/chat/completions")]

    @property
    def last_request(self) -> RecordedRequest:
        if not self.requests:
            raise AssertionError("the fake OpenAI server has received no request")
        return self.requests[-1]

    # -- request handling -------------------------------------------------------------

    def _wait(self, seconds: float) -> None:
        """Sleep, but abort at once if the server is shutting down."""
        if seconds > 0 and self._stop.wait(seconds):
            raise _Abort
        if self._stop.is_set():
            raise _Abort

    def _next_id(self) -> tuple[str, str]:
        with self._lock:
            self._counter += 1
            n = self._counter
        digest = hashlib.sha256(f"fake-openai-{n}".encode()).hexdigest()
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        value = int(digest, 16)
        chars = []
        for _ in range(29):
            value, rem = divmod(value, len(alphabet))
            chars.append(alphabet[rem])
        return "chatcmpl-" + "".join(chars), "req_" + digest[:32]

    def _handle(self, h: _Handler) -> None:
        now, mono = time.time(), time.monotonic()
        raw = h.read_body()
        try:
            body: Any = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        headers: dict[str, str] = {}
        for name, value in h.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        port = int(h.client_address[1])
        self.requests.append(
            RecordedRequest(h.command, h.path, headers, body, raw, now, mono, port)
        )

        route = h.path.split("?", 1)[0]
        if route.startswith("/v1/"):
            route = route[3:]
        if h.command == "POST" and route == "/chat/completions":
            self._chat(h, headers, raw, body)
        elif h.command == "GET" and (route == "/models" or route.startswith("/models/")):
            self._models(h, headers, route)
        else:
            msg = f"Invalid URL ({h.command} {h.path.split('?', 1)[0]})"
            self._send_status(h, Status(404, openai_error(msg)))

    def _send_status(self, h: _Handler, status: Status) -> None:
        headers = {"content-type": _JSON_CONTENT_TYPE, **status.headers}
        if isinstance(status.body, str):
            payload = status.body.encode()
        else:
            payload = _json_bytes(status.body, indent=4)
        h.send_bytes(status.code, payload, headers)

    def _auth_failure(self, headers: Mapping[str, str]) -> Status | None:
        if self.require_api_key is None:
            return None
        auth = headers.get("authorization")
        if not auth:
            return missing_api_key()
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or token != self.require_api_key:
            return invalid_api_key(token or auth)
        return None

    def _models(self, h: _Handler, headers: Mapping[str, str], route: str) -> None:
        failure = self._auth_failure(headers)
        if failure is not None:
            self._send_status(h, failure)
            return
        models = list(self.known_models) if self.known_models is not None else DEFAULT_MODELS
        objects = [
            {"id": m, "object": "model", "created": 1686935002, "owned_by": "system"}
            for m in models
        ]
        if route == "/models":
            payload: JSONDict = {"object": "list", "data": objects}
        else:
            wanted = route[len("/models/") :]
            found = [o for o in objects if o["id"] == wanted]
            if not found:
                err = openai_error(
                    f"The model '{wanted}' does not exist", param="model", code="model_not_found"
                )
                self._send_status(h, Status(404, err))
                return
            payload = found[0]
        h.send_bytes(200, _json_bytes(payload, indent=2), {"content-type": _JSON_CONTENT_TYPE})

    def _chat(self, h: _Handler, headers: Mapping[str, str], raw: bytes, body: Any) -> None:
        with self._lock:
            behaviour: Behaviour = self._script.popleft() if self._script else Generate()
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if isinstance(behaviour, Status):
                self._send_status(h, behaviour)
            elif isinstance(behaviour, Fixture):
                self._replay_fixture(h, behaviour)
            elif isinstance(behaviour, SseEvents):
                self._send_events(h, behaviour)
            else:
                self._generate_checked(h, headers, raw, body, behaviour)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _replay_fixture(self, h: _Handler, fixture: Fixture) -> None:
        path = fixture_path(fixture.name)
        data = path.read_bytes()
        if path.suffix == ".sse":
            headers = {"content-type": _SSE_CONTENT_TYPE, **fixture.headers}
            h.start(fixture.status, headers, None)
            for i, event in enumerate(re.split(rb"(?<=\n\n)", data)):
                if i and fixture.chunk_delay:
                    self._wait(fixture.chunk_delay)
                h.write_chunk(event)
            h.end_chunks()
        else:
            ctype = _JSON_CONTENT_TYPE if path.suffix == ".json" else "text/plain; charset=utf-8"
            h.send_bytes(fixture.status, data, {"content-type": ctype, **fixture.headers})

    def _send_events(self, h: _Handler, events: SseEvents) -> None:
        h.start(events.status, {"content-type": _SSE_CONTENT_TYPE, **events.headers}, None)
        blocks = [
            _sse(e) if isinstance(e, dict) else e.rstrip("\n").encode() + b"\n\n"
            for e in events.events
        ]
        if events.done:
            blocks.append(_DONE_EVENT)
        for i, block in enumerate(blocks):
            if i and events.chunk_delay:
                self._wait(events.chunk_delay)
            h.write_chunk(block)
        h.end_chunks()

    def _generate_checked(
        self,
        h: _Handler,
        headers: Mapping[str, str],
        raw: bytes,
        body: Any,
        behaviour: Generate | CutStream | Stall | ErrorInStream,
    ) -> None:
        if isinstance(behaviour, Stall) and behaviour.after_events is None:
            self._wait(behaviour.seconds)
        failure = self._auth_failure(headers)
        if failure is None and not isinstance(body, dict):
            failure = Status(400, load_fixture_json("error_400_invalid_json.json"))
        if failure is None:
            assert isinstance(body, dict)
            model = body.get("model")
            if self.known_models is not None and model not in self.known_models:
                failure = model_not_found(str(model))
            elif not self.supports_n and int(body.get("n") or 1) != 1:
                failure = llama_server_n_error()
        if failure is not None:
            self._send_status(h, failure)
            return
        assert isinstance(body, dict)
        gen = behaviour if isinstance(behaviour, Generate) else Generate()
        self._generate(h, body, gen, None if isinstance(behaviour, Generate) else behaviour)

    # -- generation -------------------------------------------------------------------

    def _choices(self, body: JSONDict, gen: Generate) -> list[_Choice]:
        n = max(1, int(body.get("n") or 1))
        limit_raw = body.get("max_completion_tokens")
        if limit_raw is None:
            limit_raw = body.get("max_tokens")
        limit = int(limit_raw) if limit_raw is not None else None
        answer = gen.answer if gen.answer is not None else self.answer
        reasoning = gen.reasoning if gen.reasoning is not None else self.reasoning
        choices: list[_Choice] = []
        for i in range(n):
            hidden = max(0, self.hidden_reasoning_tokens)
            shown = split_tokens(_resolve(reasoning, body, i)) if self.reasoning_field else []
            content = split_tokens(_resolve(answer, body, i))
            finish = "stop"
            if limit is not None:
                budget = max(0, limit)
                kept_hidden = min(hidden, budget)
                budget -= kept_hidden
                kept_shown = shown[:budget]
                budget -= len(kept_shown)
                kept_content = content[:budget]
                if (kept_hidden, len(kept_shown), len(kept_content)) != (
                    hidden,
                    len(shown),
                    len(content),
                ):
                    finish = "length"
                hidden, shown, content = kept_hidden, kept_shown, kept_content
            choices.append(_Choice(i, shown, content, hidden, finish))
        return choices

    def _usage(self, body: JSONDict, choices: Sequence[_Choice]) -> JSONDict:
        prompt = prompt_tokens(body)
        completion = sum(c.completion_tokens for c in choices)
        usage: JSONDict = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {
                "cached_tokens": max(0, min(self.cached_tokens, prompt)),
                "audio_tokens": 0,
            },
            "completion_tokens_details": {
                "reasoning_tokens": sum(c.reasoning_tokens for c in choices),
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        if self.report_cost is not False:
            if self.report_cost is True:
                cost = round(prompt * 1e-6 + completion * 2e-6, 12)
            else:
                cost = float(self.report_cost)
            usage["cost"] = cost
            usage["is_byok"] = False
            usage["cost_details"] = {"upstream_inference_cost": None}
        return usage

    def _response_json(
        self, body: JSONDict, choices: Sequence[_Choice], cid: str, created: int, model: str
    ) -> JSONDict:
        out_choices = []
        for c in choices:
            message: JSONDict = {
                "role": "assistant",
                "content": "".join(c.content),
                "refusal": None,
                "annotations": [],
            }
            if self.reasoning_field:
                message[self.reasoning_field] = "".join(c.reasoning)
            out_choices.append(
                {
                    "index": c.index,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": c.finish_reason,
                }
            )
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": out_choices,
            "usage": self._usage(body, choices),
            "service_tier": "default",
            "system_fingerprint": self.system_fingerprint,
        }

    def _stream_events(
        self, body: JSONDict, choices: Sequence[_Choice], cid: str, created: int, model: str
    ) -> list[bytes]:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        send_usage = self.usage_in_stream == "always" or (
            self.usage_in_stream == "include_usage" and include_usage
        )
        base: JSONDict = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": self.system_fingerprint,
        }
        field_name = self.reasoning_field

        def chunk(index: int, delta: JSONDict, finish: str | None = None) -> JSONDict:
            obj: JSONDict = {
                **base,
                "choices": [
                    {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                obj["usage"] = None
            return obj

        per_choice: list[list[JSONDict]] = []
        for c in choices:
            if field_name == "reasoning_content":
                role: JSONDict = {"role": "assistant", "content": None, field_name: ""}
            else:
                role = {"role": "assistant", "content": "", "refusal": None}
            seq = [chunk(c.index, role)]
            for piece in c.reasoning:
                if field_name == "reasoning_content":
                    seq.append(chunk(c.index, {"content": None, field_name: piece}))
                else:
                    seq.append(chunk(c.index, {"reasoning": piece}))
            for piece in c.content:
                if field_name == "reasoning_content":
                    seq.append(chunk(c.index, {"content": piece, field_name: None}))
                else:
                    seq.append(chunk(c.index, {"content": piece}))
            seq.append(chunk(c.index, {}, c.finish_reason))
            per_choice.append(seq)

        # Interleave like the real API: one event per choice in turn.
        events: list[JSONDict] = []
        for step in range(max(len(s) for s in per_choice)):
            events.extend(s[step] for s in per_choice if step < len(s))

        if send_usage:
            usage = self._usage(body, choices)
            if self.usage_placement == "finish_chunk":
                events[-1]["usage"] = usage
            else:
                events.append({**base, "choices": [], "usage": usage})
        return [_sse(e) for e in events] + [_DONE_EVENT]

    def _generate(
        self,
        h: _Handler,
        body: JSONDict,
        gen: Generate,
        modifier: CutStream | Stall | ErrorInStream | None,
    ) -> None:
        delay = gen.delay if gen.delay is not None else self.delay
        chunk_delay = gen.chunk_delay if gen.chunk_delay is not None else self.chunk_delay
        choices = self._choices(body, gen)
        cid, request_id = self._next_id()
        created = int(time.time())
        model = self.response_model or str(body.get("model") or "gpt-4o-mini")
        headers = {
            "x-request-id": request_id,
            "openai-version": "2020-10-01",
            "openai-processing-ms": str(int(delay * 1000) + 1),
            **self.extra_headers,
        }
        mid_stall = modifier if isinstance(modifier, Stall) else None
        if mid_stall is not None and mid_stall.after_events is None:
            mid_stall = None  # already stalled before headers

        if not body.get("stream"):
            if isinstance(modifier, ErrorInStream):
                payload = _json_bytes({"error": modifier.error}, indent=2)
            else:
                response = self._response_json(body, choices, cid, created, model)
                payload = _json_bytes(response, indent=2)
            self._wait(delay)
            h.start(200, {"content-type": _JSON_CONTENT_TYPE, **headers}, len(payload))
            if mid_stall is not None:
                self._wait(mid_stall.seconds)
            if isinstance(modifier, CutStream):
                h.wfile.write(payload[: len(payload) // 2])
                raise _Abort
            h.wfile.write(payload)
            return

        events = self._stream_events(body, choices, cid, created, model)
        sse_headers = {"content-type": _SSE_CONTENT_TYPE, "cache-control": "no-cache", **headers}
        if self.keepalive_comments > 0:
            h.start(200, sse_headers, None)
            for _ in range(self.keepalive_comments):
                h.write_chunk(_KEEPALIVE_COMMENT)
                self._wait(delay / self.keepalive_comments)
        else:
            self._wait(delay)
            h.start(200, sse_headers, None)

        at: int | None = None  # index of the data event before which the modifier acts
        if isinstance(modifier, CutStream | ErrorInStream):
            at = modifier.after_events
        elif mid_stall is not None:
            at = mid_stall.after_events
        if at is not None:
            at = min(max(0, at), len(events))
        for i in range(len(events) + 1):
            if isinstance(modifier, CutStream) and i == at:
                raise _Abort
            if mid_stall is not None and i == at:
                self._wait(mid_stall.seconds)
            if isinstance(modifier, ErrorInStream) and i == at:
                h.write_chunk(_sse({"error": modifier.error}))
                if modifier.done:
                    h.write_chunk(_DONE_EVENT)
                h.end_chunks()
                return
            if i == len(events):
                break
            if i and chunk_delay:
                self._wait(chunk_delay)
            h.write_chunk(events[i])
        h.end_chunks()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    """A fresh server per test; fails the test if a handler thread crashed.

    Use it from a conftest with ``pytest_plugins = ("tests.fakes.openai_server",)``,
    or write a local fixture around ``with FakeOpenAIServer(...) as server: yield server``.
    """
    with FakeOpenAIServer() as server:
        yield server
    server.assert_no_errors()
