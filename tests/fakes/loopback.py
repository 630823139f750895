"""Real HTTP servers on 127.0.0.1 for provider tests: the machinery every fake shares.

Clients talk to a :class:`LoopbackServer` over real sockets with real HTTP/1.1 (keep-alive,
``Transfer-Encoding: chunked`` SSE streams flushed event by event), so framing, timeouts,
retries and connection handling are exercised for real. The standard library only.

A wire format is a thin subclass (``openai_server``, ``anthropic_server``,
``gemini_server``): it routes requests, validates them like the real API, and turns a
:class:`~tests.fakes.behaviours.Generate` behaviour into that API's payloads. Everything
else lives here: the threaded server, connection tracking, a clean shutdown that interrupts
stalls, recorded requests, the script of behaviours (:mod:`tests.fakes.behaviours`) and the
faults they apply (cut streams, stalls, in-stream errors).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from tests.fakes.behaviours import (
    DEFAULT_ANSWER,
    DEFAULT_REASONING,
    FIXTURES_ROOT,
    AnswerSource,
    Behaviour,
    CutStream,
    ErrorInStream,
    Fault,
    Fixture,
    Generate,
    Hangup,
    JSONDict,
    RecordedRequest,
    SseEvents,
    Stall,
    Status,
    json_bytes,
    resolve,
    split_tokens,
    sse_data,
)

__all__ = [
    "JSON_CONTENT_TYPE",
    "SSE_CONTENT_TYPE",
    "Abort",
    "Handler",
    "LoopbackServer",
    "serving",
]


def free_port() -> int:
    """A loopback port nothing listens on (for a server to start on, or to be refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"
_CLOSE_JOIN_TIMEOUT = 5.0


# --------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------


class Abort(Exception):
    """Drop the connection without finishing the response."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default listen backlog is 5: a burst of concurrent connections beyond
    # it has SYNs dropped and retried after a second, which would serialise the requests.
    request_queue_size = 128

    def __init__(self, owner: LoopbackServer, host: str) -> None:
        self.owner = owner
        self._lock = threading.Lock()
        self._conn_threads: set[threading.Thread] = set()
        self._connections: set[socket.socket] = set()
        super().__init__((host, 0), Handler)

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
            name=f"{self.owner.thread_name}-conn-{client_address[1]}",
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


class Handler(BaseHTTPRequestHandler):
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
        except (Abort, ConnectionError):
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


class LoopbackServer:
    """A fake provider on ``127.0.0.1:<random port>``; subclasses speak a wire format.

    Subclasses set :attr:`fixtures_dir` and implement :meth:`route` (usually calling
    :meth:`serve` for the generation endpoint), :meth:`generate`, :meth:`error_blocks` and
    :meth:`error_body`; :meth:`encode_event` and :attr:`done_block` follow the wire format.
    """

    fixtures_dir: ClassVar[Path] = FIXTURES_ROOT
    thread_name: ClassVar[str] = "fake-server"
    done_block: ClassVar[bytes | None] = None
    """The stream terminator sent after :class:`SseEvents` (OpenAI: ``data: [DONE]``)."""
    base_path: ClassVar[str] = ""
    """What a client's base URL adds to the root: ``/v1`` for OpenAI; nothing for the
    Anthropic and Gemini SDKs, which add the API version themselves."""

    def __init__(
        self,
        *,
        answer: AnswerSource = DEFAULT_ANSWER,
        reasoning: AnswerSource = DEFAULT_REASONING,
        require_api_key: str | None = None,
        known_models: Sequence[str] | None = None,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        extra_headers: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.answer: AnswerSource = answer
        """Answer text, or ``f(body, choice_index) -> text``."""
        self.reasoning: AnswerSource = reasoning
        """Reasoning text (sent where the wire format and the request call for it)."""
        self.require_api_key = require_api_key
        """If set, requests must carry this key (the wire format's auth error otherwise)."""
        self.known_models: Sequence[str] | None = known_models
        """If set, other models get the wire format's "model not found" error."""
        self.delay = delay
        """Seconds to wait before the response starts (per request, concurrently)."""
        self.hold: threading.Event | None = None
        """If set, every generation request waits until this event is set before it is
        answered: a test acts while a call is in flight (``close`` ends the wait)."""
        self.chunk_delay = chunk_delay
        """Seconds between SSE data events."""
        self.extra_headers: dict[str, str] = dict(extra_headers or {})
        """Added to every generated response (e.g. rate-limit headers)."""
        self.usage_override: JSONDict = {}
        """Hostile usage: these fields replace those of every generated usage object (any
        JSON value, ``NaN`` and ``Infinity`` included)."""
        self.ignore_max_tokens = False
        """Hostile output: send the whole answer whatever the request's output limit."""
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []
        """Tracebacks of unexpected exceptions in handler threads (should stay empty)."""
        self.closing = False
        self.max_in_flight = 0
        """Highest number of generation requests served at the same time."""

        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._counter = 0
        self._in_flight = 0
        self._stop = threading.Event()
        self._httpd = _HTTPServer(self, host)
        self._serve_thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
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
        """What the provider's base URL (``OPENAI_BASE_URL`` …) is set to."""
        return self.root_url + self.base_path

    def __enter__(self) -> Self:
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
            raise RuntimeError(f"{self.thread_name} threads did not stop: {alive}")

    def assert_no_errors(self) -> None:
        assert not self.errors, f"{self.thread_name} handler crashed:\n" + "\n".join(self.errors)

    # -- scripting --------------------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next generation requests, in order. Once the queue
        is empty requests fall back to the default "generate" behaviour."""
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
    def last_request(self) -> RecordedRequest:
        if not self.requests:
            raise AssertionError(f"the {self.thread_name} has received no request")
        return self.requests[-1]

    # -- fixtures ---------------------------------------------------------------------

    @classmethod
    def fixture_path(cls, name: str) -> Path:
        path = cls.fixtures_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"no such fixture: {path}")
        return path

    @classmethod
    def fixture_json(cls, name: str) -> JSONDict:
        """A recorded JSON object (an error body, a whole response)."""
        data = json.loads(cls.fixture_path(name).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError(f"fixture {name} is not a JSON object")
        return data

    # -- helpers for subclasses ---------------------------------------------------------

    def texts(self, gen: Generate, body: JSONDict, index: int = 0) -> tuple[list[str], list[str]]:
        """The reasoning and the answer of choice ``index``, split into per-word deltas."""
        reasoning = gen.reasoning if gen.reasoning is not None else self.reasoning
        answer = gen.answer if gen.answer is not None else self.answer
        return split_tokens(resolve(reasoning, body, index)), split_tokens(
            resolve(answer, body, index)
        )

    def timing(self, gen: Generate) -> tuple[float, float]:
        """``(delay, chunk_delay)`` for this response: the behaviour's, else the server's."""
        delay = gen.delay if gen.delay is not None else self.delay
        return delay, gen.chunk_delay if gen.chunk_delay is not None else self.chunk_delay

    def wait(self, seconds: float) -> None:
        """Sleep, but abort at once if the server is shutting down."""
        if seconds > 0 and self._stop.wait(seconds):
            raise Abort
        if self._stop.is_set():
            raise Abort

    def next_number(self) -> int:
        """1, 2, 3 … per server (for deterministic response ids)."""
        with self._lock:
            self._counter += 1
            return self._counter

    def send_status(self, h: Handler, status: Status) -> None:
        headers = {"content-type": JSON_CONTENT_TYPE, **status.headers}
        if isinstance(status.body, str):
            payload = status.body.encode()
        else:
            payload = json_bytes(status.body, indent=4)
        h.send_bytes(status.code, payload, headers)

    def send_json(self, h: Handler, payload: Any, status: int = 200) -> None:
        h.send_bytes(status, json_bytes(payload, indent=2), {"content-type": JSON_CONTENT_TYPE})

    def encode_event(self, event: JSONDict) -> bytes:
        """How a dict in :class:`SseEvents` is sent (an unnamed ``data:`` event)."""
        return sse_data(event)

    # -- request handling -------------------------------------------------------------

    def _handle(self, h: Handler) -> None:
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
        request = RecordedRequest(h.command, h.path, headers, body, raw, now, mono, port)
        self.requests.append(request)
        self.route(h, request)

    def route(self, h: Handler, request: RecordedRequest) -> None:
        raise NotImplementedError

    def serve(self, h: Handler, request: RecordedRequest) -> None:
        """Answer a generation request with the next scripted behaviour (else generate)."""
        with self._lock:
            behaviour: Behaviour = self._script.popleft() if self._script else Generate()
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            while self.hold is not None and not self.hold.wait(0.05):
                self.wait(0)  # aborts when the server closes
            if isinstance(behaviour, Hangup):
                raise Abort
            if isinstance(behaviour, Status):
                self.send_status(h, behaviour)
            elif isinstance(behaviour, Fixture):
                self._replay_fixture(h, behaviour)
            elif isinstance(behaviour, SseEvents):
                self._send_events(h, behaviour)
            else:
                if isinstance(behaviour, Stall) and behaviour.after_events is None:
                    self.wait(behaviour.seconds)
                failure = self.reject(request)
                if failure is not None:
                    self.send_status(h, failure)
                    return
                fault = None if isinstance(behaviour, Generate) else behaviour
                gen = behaviour if isinstance(behaviour, Generate) else Generate()
                self.generate(h, request, gen, fault)
        finally:
            with self._lock:
                self._in_flight -= 1

    def reject(self, request: RecordedRequest) -> Status | None:
        """The error response the real API gives this request, if any (checked before
        :meth:`generate`)."""
        return None

    def generate(
        self, h: Handler, request: RecordedRequest, gen: Generate, fault: Fault | None
    ) -> None:
        """Answer a valid request, applying ``fault`` (with :meth:`send_stream` /
        :meth:`send_body`)."""
        raise NotImplementedError

    def error_blocks(self, fault: ErrorInStream) -> list[bytes]:
        """The SSE blocks of an in-stream error (and what follows it)."""
        raise NotImplementedError

    def error_body(self, fault: ErrorInStream) -> JSONDict:
        """The JSON body of an error sent with status 200 to a non-streaming request."""
        raise NotImplementedError

    def _replay_fixture(self, h: Handler, fixture: Fixture) -> None:
        path = self.fixture_path(fixture.name)
        data = path.read_bytes()
        if path.suffix == ".sse":
            headers = {"content-type": SSE_CONTENT_TYPE, **fixture.headers}
            h.start(fixture.status, headers, None)
            for i, event in enumerate(re.split(rb"(?<=\n\n)|(?<=\r\n\r\n)", data)):
                if i and fixture.chunk_delay:
                    self.wait(fixture.chunk_delay)
                h.write_chunk(event)
            h.end_chunks()
        else:
            ctype = JSON_CONTENT_TYPE if path.suffix == ".json" else "text/plain; charset=utf-8"
            h.send_bytes(fixture.status, data, {"content-type": ctype, **fixture.headers})

    def _send_events(self, h: Handler, events: SseEvents) -> None:
        h.start(events.status, {"content-type": SSE_CONTENT_TYPE, **events.headers}, None)
        blocks = [
            self.encode_event(e) if isinstance(e, dict) else e.rstrip("\n").encode() + b"\n\n"
            for e in events.events
        ]
        if events.done and self.done_block is not None:
            blocks.append(self.done_block)
        for i, block in enumerate(blocks):
            if i and events.chunk_delay:
                self.wait(events.chunk_delay)
            h.write_chunk(block)
        h.end_chunks()

    def send_body(
        self,
        h: Handler,
        payload: bytes,
        fault: Fault | None,
        *,
        headers: Mapping[str, str],
        delay: float,
    ) -> None:
        """A whole JSON response, with ``fault`` applied (a cut body, a stall after the
        headers)."""
        self.wait(delay)
        h.start(200, {"content-type": JSON_CONTENT_TYPE, **headers}, len(payload))
        if isinstance(fault, Stall) and fault.after_events is not None:
            self.wait(fault.seconds)
        if isinstance(fault, CutStream):
            h.wfile.write(payload[: len(payload) // 2])
            raise Abort
        h.wfile.write(payload)

    def send_stream(
        self,
        h: Handler,
        blocks: Sequence[bytes],
        fault: Fault | None,
        *,
        headers: Mapping[str, str],
        delay: float,
        chunk_delay: float,
        started: bool = False,
    ) -> None:
        """An SSE response of ``blocks``, one HTTP chunk each, with ``fault`` applied before
        block number ``fault.after_events``. ``started``: the status line and headers were
        already sent (and ``delay`` spent) by the caller."""
        if not started:
            self.wait(delay)
            sse_headers = {"content-type": SSE_CONTENT_TYPE, "cache-control": "no-cache"}
            h.start(200, {**sse_headers, **headers}, None)
        # The index of the block before which the fault acts (a stall with no index was
        # spent before the headers).
        at = None if fault is None else fault.after_events
        if at is not None:
            at = min(max(0, at), len(blocks))
        for i in range(len(blocks) + 1):
            if i == at and isinstance(fault, CutStream):
                raise Abort
            if i == at and isinstance(fault, Stall):
                self.wait(fault.seconds)
            if i == at and isinstance(fault, ErrorInStream):
                for block in self.error_blocks(fault):
                    h.write_chunk(block)
                h.end_chunks()
                return
            if i == len(blocks):
                break
            if i and chunk_delay:
                self.wait(chunk_delay)
            h.write_chunk(blocks[i])
        h.end_chunks()


Server = TypeVar("Server", bound=LoopbackServer)


def serving(server: Server) -> Iterator[Server]:
    """Body of a pytest fixture: yield the running server, close it, then fail the test if
    one of its handler threads crashed."""
    with server:
        yield server
    server.assert_no_errors()
