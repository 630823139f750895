"""A real HTTP server on 127.0.0.1 that speaks the OpenAI Chat Completions wire format.

It is the test double for the OpenAI-compatible provider tests: the server machinery (real
sockets, chunked SSE, scripted behaviours and faults, recorded requests) is
:mod:`tests.fakes.loopback`'s; this module is the wire-format layer on top.

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

import hashlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

import pytest

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
    JSONDict,
    RecordedRequest,
    SseEvents,
    Stall,
    Status,
    count_tokens,
    json_bytes,
    parse_sse,
    retry_headers,
    spend,
    split_tokens,
    sse_data,
    stall_before_headers,
    stall_mid_stream,
)
from tests.fakes.loopback import (
    JSON_CONTENT_TYPE,
    SSE_CONTENT_TYPE,
    Handler,
    LoopbackServer,
    serving,
)

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
    "flex_unavailable",
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
    "served_tier",
    "server_error",
    "split_tokens",
    "stall_before_headers",
    "stall_mid_stream",
    "unsupported_max_tokens",
]

UsageInStream: TypeAlias = Literal["include_usage", "always", "never"]
UsagePlacement: TypeAlias = Literal["separate", "finish_chunk"]
ReasoningField: TypeAlias = Literal["reasoning_content", "reasoning"]

DEFAULT_MODELS: tuple[str, ...] = ("gpt-4o-mini", "gpt-4o", "o4-mini")
FIXTURES_DIR = FIXTURES_ROOT / "openai"

_KEEPALIVE_COMMENT = b": OPENROUTER PROCESSING\n\n"
_DONE_EVENT = b"data: [DONE]\n\n"


# --------------------------------------------------------------------------------------
# Fixtures and error bodies
# --------------------------------------------------------------------------------------


def fixture_path(name: str) -> Path:
    """Path of a recorded payload in ``tests/fixtures/openai``."""
    return FakeOpenAIServer.fixture_path(name)


def load_fixture_text(name: str) -> str:
    return fixture_path(name).read_text(encoding="utf-8")


def load_fixture_json(name: str) -> JSONDict:
    return FakeOpenAIServer.fixture_json(name)


def openai_error(
    message: str,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> JSONDict:
    """OpenAI's error envelope: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


# --------------------------------------------------------------------------------------
# Token helpers
# --------------------------------------------------------------------------------------


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
# Error responses (scriptable with server.script(...))
# --------------------------------------------------------------------------------------


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
        **retry_headers(retry_after, retry_after_ms),
    }
    return Status(429, body or load_fixture_json("error_429_rate_limit_exceeded.json"), headers)


def insufficient_quota() -> Status:
    """429 ``insufficient_quota`` (out of credit; must not be retried). No retry-after."""
    return Status(429, load_fixture_json("error_429_insufficient_quota.json"))


def flex_unavailable() -> Status:
    """429 Resource Unavailable: flex processing has no capacity now (not billed)."""
    return Status(429, load_fixture_json("error_429_flex_resource_unavailable.json"))


def served_tier(body: Mapping[str, Any], forced: str | None) -> str:
    """The ``service_tier`` OpenAI echoes: ``forced`` if set (a fake that serves standard
    although flex was asked), else the tier asked for (``auto`` or none: ``default``)."""
    if forced is not None:
        return forced
    asked = body.get("service_tier")
    return asked if isinstance(asked, str) and asked not in ("auto", "") else "default"


def server_error(
    code: int = 500, retry_after: str | None = None, retry_after_ms: str | None = None
) -> Status:
    """OpenAI's generic 500 ``server_error`` body (status ``code``; e.g. 502)."""
    return Status(
        code,
        load_fixture_json("error_500_server_error.json"),
        retry_headers(retry_after, retry_after_ms),
    )


def overloaded(
    code: int = 503, retry_after: str | None = None, retry_after_ms: str | None = None
) -> Status:
    """'That model is currently overloaded' ``server_error`` (503; pass 529 for Anthropic's
    overload status on an OpenAI-wire gateway)."""
    return Status(
        code,
        load_fixture_json("error_503_overloaded.json"),
        retry_headers(retry_after, retry_after_ms),
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
# Generation
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


class FakeOpenAIServer(LoopbackServer):
    """OpenAI-compatible fake on ``127.0.0.1:<random port>``.

    Every constructor argument is also a public attribute that may be changed between
    requests. See the module docstring for token counting.
    """

    fixtures_dir = FIXTURES_DIR
    thread_name = "fake-openai-server"
    done_block = _DONE_EVENT
    base_path = "/v1"

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
        self.served_tier: str | None = None
        """The ``service_tier`` every response echoes; None: the one asked for (``default``
        when none or ``auto``). ``"default"`` scripts "standard served although flex was
        asked"."""
        self.flex_unavailable = False
        """True: every ``service_tier: "flex"`` request gets 429 Resource Unavailable."""
        super().__init__(
            answer=answer,
            reasoning=reasoning,
            require_api_key=require_api_key,
            known_models=known_models,
            delay=delay,
            chunk_delay=chunk_delay,
            extra_headers=extra_headers,
            host=host,
        )

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route.endswith("/chat/completions")]

    # -- request handling -------------------------------------------------------------

    def _next_id(self) -> tuple[str, str]:
        n = self.next_number()
        digest = hashlib.sha256(f"fake-openai-{n}".encode()).hexdigest()
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        value = int(digest, 16)
        chars = []
        for _ in range(29):
            value, rem = divmod(value, len(alphabet))
            chars.append(alphabet[rem])
        return "chatcmpl-" + "".join(chars), "req_" + digest[:32]

    def route(self, h: Handler, request: RecordedRequest) -> None:
        route = request.route
        if route.startswith("/v1/"):
            route = route[3:]
        if request.method == "POST" and route == "/chat/completions":
            self.serve(h, request)
        elif request.method == "GET" and (route == "/models" or route.startswith("/models/")):
            self._models(h, request.headers, route)
        else:
            msg = f"Invalid URL ({request.method} {request.route})"
            self.send_status(h, Status(404, openai_error(msg)))

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

    def _models(self, h: Handler, headers: Mapping[str, str], route: str) -> None:
        failure = self._auth_failure(headers)
        if failure is not None:
            self.send_status(h, failure)
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
                self.send_status(h, Status(404, err))
                return
            payload = found[0]
        h.send_bytes(200, json_bytes(payload, indent=2), {"content-type": JSON_CONTENT_TYPE})

    def reject(self, request: RecordedRequest) -> Status | None:
        """The error response the real API gives this request, if any."""
        failure = self._auth_failure(request.headers)
        if failure is None and not isinstance(request.body, dict):
            failure = Status(400, load_fixture_json("error_400_invalid_json.json"))
        if failure is None:
            body = request.json
            model = body.get("model")
            if self.known_models is not None and model not in self.known_models:
                failure = model_not_found(str(model))
            elif not self.supports_n and int(body.get("n") or 1) != 1:
                failure = llama_server_n_error()
            elif self.flex_unavailable and body.get("service_tier") == "flex":
                failure = flex_unavailable()
        return failure

    def error_blocks(self, fault: ErrorInStream) -> list[bytes]:
        blocks = [sse_data(self.error_body(fault))]
        return [*blocks, _DONE_EVENT] if fault.done else blocks

    def error_body(self, fault: ErrorInStream) -> JSONDict:
        error = fault.error
        if error is None:
            error = openai_error(
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
            )["error"]
        return {"error": error}

    # -- generation -------------------------------------------------------------------

    def _choices(self, body: JSONDict, gen: Generate) -> list[_Choice]:
        n = max(1, int(body.get("n") or 1))
        limit_raw = body.get("max_completion_tokens")
        if limit_raw is None:
            limit_raw = body.get("max_tokens")
        limit = int(limit_raw) if limit_raw is not None else None
        choices: list[_Choice] = []
        for i in range(n):
            reasoning, answer = self.texts(gen, body, i)
            shown = reasoning if self.reasoning_field else []
            limit = None if self.ignore_max_tokens else limit
            out = spend(limit, max(0, self.hidden_reasoning_tokens), shown, answer)
            finish = "length" if out.cut else "stop"
            choices.append(_Choice(i, out.reasoning, out.answer, out.hidden, finish))
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
        return {**usage, **self.usage_override}

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
            "service_tier": served_tier(body, self.served_tier),
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
            "service_tier": served_tier(body, self.served_tier),
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
        return [sse_data(e) for e in events] + [_DONE_EVENT]

    def generate(
        self, h: Handler, request: RecordedRequest, gen: Generate, fault: Fault | None
    ) -> None:
        body = request.json
        delay, chunk_delay = self.timing(gen)
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
        if not body.get("stream"):
            if isinstance(fault, ErrorInStream):
                payload = json_bytes(self.error_body(fault), indent=2)
            else:
                payload = json_bytes(
                    self._response_json(body, choices, cid, created, model), indent=2
                )
            self.send_body(h, payload, fault, headers=headers, delay=delay)
            return
        events = self._stream_events(body, choices, cid, created, model)
        started = self.keepalive_comments > 0
        if started:
            sse_headers = {"content-type": SSE_CONTENT_TYPE, "cache-control": "no-cache"}
            h.start(200, {**sse_headers, **headers}, None)
            for _ in range(self.keepalive_comments):
                h.write_chunk(_KEEPALIVE_COMMENT)
                self.wait(delay / self.keepalive_comments)
        self.send_stream(
            h,
            events,
            fault,
            headers=headers,
            delay=delay,
            chunk_delay=chunk_delay,
            started=started,
        )


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    """A fresh server per test; fails the test if a handler thread crashed.

    Use it from a conftest with ``pytest_plugins = ("tests.fakes.openai_server",)``,
    or write a local fixture around ``with FakeOpenAIServer(...) as server: yield server``.
    """
    yield from serving(FakeOpenAIServer())
