"""Tests of the fake OpenAI server itself, through plain httpx over real sockets."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes import openai_server as fake
from tests.fakes.openai_server import (
    DEFAULT_ANSWER,
    FIXTURES_DIR,
    CutStream,
    ErrorInStream,
    FakeOpenAIServer,
    Fixture,
    Generate,
    SseEvents,
    Stall,
    Status,
)

# Registers the module's ``fake_openai`` fixture here without a conftest.
fake_openai = fake.fake_openai

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is 2 + 2?"},
]
PROMPT_TOKENS = 2 + 5  # whitespace-separated words in MESSAGES


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": MESSAGES, **extra}


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv
    srv.assert_no_errors()


@pytest.fixture
def client(server: FakeOpenAIServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=5.0) as c:
        yield c


def read_stream(client: httpx.Client, body: dict[str, Any]) -> tuple[httpx.Response, list[str]]:
    """POST a streaming request; return the response and every line (blank lines kept)."""
    with client.stream("POST", "/chat/completions", json=body) as response:
        lines = list(response.iter_lines())
    return response, lines


def collect_data_lines(
    client: httpx.Client, body: dict[str, Any], into: list[str], timeout: float = 5.0
) -> None:
    """Stream a request, appending each ``data:`` line to ``into`` as it arrives."""
    with client.stream("POST", "/chat/completions", json=body, timeout=timeout) as response:
        assert response.status_code == 200
        into.extend(line for line in response.iter_lines() if line.startswith("data: "))


def data_payloads(lines: list[str]) -> list[str]:
    return [line[len("data: ") :] for line in lines if line.startswith("data: ")]


def chunks(lines: list[str]) -> list[dict[str, Any]]:
    payloads = data_payloads(lines)
    assert payloads[-1] == "[DONE]"
    return [json.loads(p) for p in payloads[:-1]]


def content_of(chunk_list: list[dict[str, Any]], index: int = 0, key: str = "content") -> str:
    return "".join(
        choice["delta"].get(key) or ""
        for c in chunk_list
        for choice in c["choices"]
        if choice["index"] == index
    )


# --------------------------------------------------------------------------------------
# basics
# --------------------------------------------------------------------------------------


def test_base_url_and_models(server: FakeOpenAIServer, client: httpx.Client) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    listing = client.get("/models").json()
    assert listing["object"] == "list"
    assert [m["id"] for m in listing["data"]] == ["gpt-4o-mini", "gpt-4o", "o4-mini"]
    assert set(listing["data"][0]) == {"id", "object", "created", "owned_by"}
    assert client.get("/models/gpt-4o").json()["id"] == "gpt-4o"
    missing = client.get("/models/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"


def test_unknown_route_is_openai_404(client: httpx.Client) -> None:
    response = client.post("/embeddingz", json={})
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": "Invalid URL (POST /v1/embeddingz)",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }


def test_path_without_v1_prefix_works(server: FakeOpenAIServer) -> None:
    with httpx.Client(base_url=server.root_url) as c:
        response = c.post("/chat/completions", json=chat_body())
    assert response.status_code == 200
    assert server.last_request.path == "/chat/completions"


def test_non_stream_response_shape(server: FakeOpenAIServer, client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=chat_body())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    data = response.json()
    assert set(data) == {
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "service_tier",
        "system_fingerprint",
    }
    assert data["id"].startswith("chatcmpl-")
    assert data["object"] == "chat.completion"
    assert data["model"] == "gpt-4o-mini"
    assert abs(data["created"] - time.time()) < 60
    assert data["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": DEFAULT_ANSWER,
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert data["usage"] == {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": 4,
        "total_tokens": PROMPT_TOKENS + 4,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def test_requests_are_recorded(server: FakeOpenAIServer, client: httpx.Client) -> None:
    before = time.time()
    client.post("/chat/completions", json=chat_body(), headers={"Authorization": "Bearer sk-test"})
    rec = server.last_request
    assert rec.method == "POST"
    assert rec.path == "/v1/chat/completions"
    assert rec.headers["authorization"] == "Bearer sk-test"
    assert rec.headers["content-type"] == "application/json"
    assert all(name == name.lower() for name in rec.headers)
    assert rec.body == chat_body()
    assert rec.json["model"] == "gpt-4o-mini"
    assert before - 1 <= rec.time <= time.time() + 1
    assert server.chat_requests == [rec]


def test_invalid_json_body_gets_400(client: httpx.Client) -> None:
    response = client.post(
        "/chat/completions", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("We could not parse the JSON body of your request.")


def test_chunked_request_body_is_read(server: FakeOpenAIServer, client: httpx.Client) -> None:
    payload = json.dumps(chat_body()).encode()
    response = client.post(
        "/chat/completions",
        content=iter([payload[:10], payload[10:]]),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200
    assert server.last_request.headers["transfer-encoding"] == "chunked"
    assert server.last_request.body == chat_body()


def test_keep_alive_reuses_one_connection(server: FakeOpenAIServer, client: httpx.Client) -> None:
    for _ in range(3):
        assert client.post("/chat/completions", json=chat_body()).status_code == 200
        _, lines = read_stream(client, chat_body(stream=True))
        assert data_payloads(lines)[-1] == "[DONE]"
    ports = {r.client_port for r in server.requests}
    assert len(ports) == 1


# --------------------------------------------------------------------------------------
# streaming
# --------------------------------------------------------------------------------------


def test_stream_framing(client: httpx.Client) -> None:
    response, lines = read_stream(client, chat_body(stream=True))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.headers
    # Every event is exactly one "data: ..." line followed by one blank line.
    assert len(lines) % 2 == 0
    assert all(line.startswith("data: ") for line in lines[0::2])
    assert all(line == "" for line in lines[1::2])
    cs = chunks(lines)
    assert len({c["id"] for c in cs}) == 1
    for c in cs:
        assert c["object"] == "chat.completion.chunk"
        assert c["model"] == "gpt-4o-mini"
        assert c["system_fingerprint"] == "fp_f4k3c0ffee"
        assert isinstance(c["created"], int)
        assert "usage" not in c  # include_usage not requested
    assert cs[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    deltas = [c["choices"][0]["delta"]["content"] for c in cs[1:-1]]
    assert deltas == ["The", " answer", " is", " 4."]
    assert content_of(cs) == DEFAULT_ANSWER
    assert cs[-1]["choices"] == [
        {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    ]


def test_stream_is_incremental(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.chunk_delay = 0.08
    arrivals: list[float] = []
    start = time.monotonic()
    with client.stream("POST", "/chat/completions", json=chat_body(stream=True)) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                arrivals.append(time.monotonic() - start)
    assert len(arrivals) == 7  # role, 4 words, finish, [DONE]
    total = arrivals[-1]
    # The first event arrives long before the last one: nothing is buffered.
    assert arrivals[0] < 0.35 * total
    assert arrivals == sorted(arrivals)


def test_include_usage_chunk_is_last_before_done(client: httpx.Client) -> None:
    _, lines = read_stream(client, chat_body(stream=True, stream_options={"include_usage": True}))
    cs = chunks(lines)
    *body, last = cs
    assert last["choices"] == []
    assert last["usage"]["prompt_tokens"] == PROMPT_TOKENS
    assert last["usage"]["completion_tokens"] == 4
    assert last["usage"]["total_tokens"] == PROMPT_TOKENS + 4
    assert all(c["usage"] is None for c in body)
    assert body[-1]["choices"][0]["finish_reason"] == "stop"


def test_usage_in_stream_modes(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.usage_in_stream = "always"
    cs = chunks(read_stream(client, chat_body(stream=True))[1])
    assert cs[-1]["choices"] == []
    assert cs[-1]["usage"]["completion_tokens"] == 4

    server.usage_in_stream = "never"
    cs = chunks(
        read_stream(client, chat_body(stream=True, stream_options={"include_usage": True}))[1]
    )
    assert all(c.get("usage") is None for c in cs)
    assert cs[-1]["choices"][0]["finish_reason"] == "stop"

    server.usage_in_stream = "always"
    server.usage_placement = "finish_chunk"
    cs = chunks(read_stream(client, chat_body(stream=True))[1])
    assert cs[-1]["choices"][0]["finish_reason"] == "stop"
    assert cs[-1]["usage"]["total_tokens"] == PROMPT_TOKENS + 4


def test_n3_stream_interleaves_choices(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.answer = lambda body, i: f"Choice {i} says {i + 4}."
    _, lines = read_stream(
        client, chat_body(stream=True, n=3, stream_options={"include_usage": True})
    )
    cs = chunks(lines)
    *choice_chunks, usage_chunk = cs
    assert all(len(c["choices"]) == 1 for c in choice_chunks)
    order = [c["choices"][0]["index"] for c in choice_chunks]
    assert order[:6] == [0, 1, 2, 0, 1, 2]
    switches = sum(1 for a, b in itertools.pairwise(order) if a != b)
    assert switches > len(order) // 2  # interleaved, not one choice after another
    for i in range(3):
        own = [c["choices"][0] for c in choice_chunks if c["choices"][0]["index"] == i]
        assert own[0]["delta"]["role"] == "assistant"
        assert [x["finish_reason"] for x in own] == [None] * (len(own) - 1) + ["stop"]
        assert content_of(choice_chunks, i) == f"Choice {i} says {i + 4}."
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == 3 * 4
    assert usage_chunk["usage"]["prompt_tokens"] == PROMPT_TOKENS


def test_n3_non_stream(client: httpx.Client) -> None:
    data = client.post("/chat/completions", json=chat_body(n=3)).json()
    assert [c["index"] for c in data["choices"]] == [0, 1, 2]
    assert data["usage"]["completion_tokens"] == 12


def test_answer_callable_gets_body_and_index(
    server: FakeOpenAIServer, client: httpx.Client
) -> None:
    seen: list[tuple[str, int]] = []

    def answer(body: dict[str, Any], index: int) -> str:
        seen.append((body["model"], index))
        return "forty two"

    server.answer = answer
    data = client.post("/chat/completions", json=chat_body(n=2)).json()
    assert [c["message"]["content"] for c in data["choices"]] == ["forty two"] * 2
    assert seen == [("gpt-4o-mini", 0), ("gpt-4o-mini", 1)]


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_truncates_with_length(client: httpx.Client, field: str) -> None:
    data = client.post("/chat/completions", json=chat_body(**{field: 2})).json()
    assert data["choices"][0]["message"]["content"] == "The answer"
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 2

    _, lines = read_stream(client, chat_body(stream=True, **{field: 3}))
    cs = chunks(lines)
    assert content_of(cs) == "The answer is"
    assert cs[-1]["choices"][0]["finish_reason"] == "length"

    data = client.post("/chat/completions", json=chat_body(**{field: 4})).json()
    assert data["choices"][0]["finish_reason"] == "stop"


# --------------------------------------------------------------------------------------
# server options
# --------------------------------------------------------------------------------------


def test_supports_n_false_gives_llama_server_error(
    server: FakeOpenAIServer, client: httpx.Client
) -> None:
    server.supports_n = False
    response = client.post("/chat/completions", json=chat_body(n=2))
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": 500,
            "message": "Only one completion choice is allowed",
            "type": "server_error",
        }
    }
    assert client.post("/chat/completions", json=chat_body(n=1)).status_code == 200


def test_require_api_key(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.require_api_key = "sk-right-key-123456"
    wrong = client.post(
        "/chat/completions", json=chat_body(), headers={"Authorization": "Bearer sk-wrong-key-999"}
    )
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": {
            "message": "Incorrect API key provided: sk-wr***-999. You can find your API key "
            "at https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    missing = client.post("/chat/completions", json=chat_body())
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("You didn't provide an API key.")
    assert missing.json()["error"]["code"] is None
    assert client.get("/models").status_code == 401
    ok = client.post(
        "/chat/completions",
        json=chat_body(),
        headers={"Authorization": "Bearer sk-right-key-123456"},
    )
    assert ok.status_code == 200


def test_invalid_api_key_fixture_matches_helper() -> None:
    assert fake.invalid_api_key().body == fake.load_fixture_json("error_401_invalid_api_key.json")
    assert fake.invalid_api_key().body == {
        "error": {
            "message": "Incorrect API key provided: sk-xx***. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }


def test_known_models_gives_model_not_found(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.known_models = ["gpt-4o-mini"]
    response = client.post("/chat/completions", json=chat_body(model="gpt-9-turbo"))
    assert response.status_code == 404
    assert response.json() == fake.load_fixture_json("error_404_model_not_found.json")
    assert [m["id"] for m in client.get("/models").json()["data"]] == ["gpt-4o-mini"]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_field(server: FakeOpenAIServer, client: httpx.Client, field: str) -> None:
    server.reasoning_field = field  # type: ignore[assignment]
    server.reasoning = "Two plus two is four."
    _, lines = read_stream(client, chat_body(stream=True, stream_options={"include_usage": True}))
    cs = chunks(lines)
    deltas = [c["choices"][0]["delta"] for c in cs if c["choices"]]
    kinds = [
        "reasoning" if d.get(field) else "content" if d.get("content") else "other" for d in deltas
    ]
    first_content = kinds.index("content")
    assert kinds.count("reasoning") == 5
    assert "reasoning" not in kinds[first_content:]
    assert content_of(cs, key=field) == "Two plus two is four."
    assert content_of(cs) == DEFAULT_ANSWER
    usage = cs[-1]["usage"]
    assert usage["completion_tokens"] == 5 + 4
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 5
    if field == "reasoning_content":  # DeepSeek / llama.cpp style: the other field is null
        assert deltas[1] == {"content": None, "reasoning_content": "Two"}

    message = client.post("/chat/completions", json=chat_body()).json()["choices"][0]["message"]
    assert message[field] == "Two plus two is four."
    assert message["content"] == DEFAULT_ANSWER


def test_reasoning_counts_against_max_tokens(
    server: FakeOpenAIServer, client: httpx.Client
) -> None:
    server.reasoning_field = "reasoning_content"
    server.reasoning = "one two three"
    data = client.post("/chat/completions", json=chat_body(max_completion_tokens=4)).json()
    assert data["choices"][0]["message"]["reasoning_content"] == "one two three"
    assert data["choices"][0]["message"]["content"] == "The"
    assert data["choices"][0]["finish_reason"] == "length"


def test_hidden_reasoning_tokens(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.hidden_reasoning_tokens = 100
    usage = client.post("/chat/completions", json=chat_body()).json()["usage"]
    assert usage["completion_tokens"] == 104
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 100
    # The whole budget burnt on hidden reasoning: empty content, "length".
    data = client.post("/chat/completions", json=chat_body(max_completion_tokens=50)).json()
    assert data["choices"][0]["message"]["content"] == ""
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 50


def test_cached_tokens_and_cost(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.cached_tokens = 4
    server.report_cost = True
    usage = client.post("/chat/completions", json=chat_body()).json()["usage"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == 4
    assert usage["cost"] == pytest.approx(PROMPT_TOKENS * 1e-6 + 4 * 2e-6)
    assert usage["is_byok"] is False
    server.report_cost = 0.0123
    usage = client.post("/chat/completions", json=chat_body()).json()["usage"]
    assert usage["cost"] == 0.0123


def test_keepalive_comments(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.keepalive_comments = 2
    server.usage_in_stream = "always"
    server.report_cost = True
    _, lines = read_stream(client, chat_body(stream=True))
    assert lines[:4] == [": OPENROUTER PROCESSING", "", ": OPENROUTER PROCESSING", ""]
    cs = chunks(lines)
    assert cs[-1]["usage"]["cost"] > 0
    assert fake.parse_sse("\n".join(lines))[-1] == "[DONE]"


def test_response_model_and_extra_headers(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.response_model = "gpt-4o-mini-2024-07-18"
    server.extra_headers = {"x-ratelimit-remaining-requests": "41"}
    response = client.post("/chat/completions", json=chat_body())
    assert response.json()["model"] == "gpt-4o-mini-2024-07-18"
    assert response.headers["x-ratelimit-remaining-requests"] == "41"


def test_delay_does_not_serialise_concurrent_requests(server: FakeOpenAIServer) -> None:
    n, delay = 5, 0.3
    server.delay = delay
    results: list[int] = []
    limits = httpx.Limits(max_connections=n)
    with httpx.Client(base_url=server.base_url, timeout=10.0, limits=limits) as c:

        def call(stream: bool) -> None:
            if stream:
                _, lines = read_stream(c, chat_body(stream=True))
                results.append(200 if data_payloads(lines)[-1] == "[DONE]" else 0)
            else:
                results.append(c.post("/chat/completions", json=chat_body()).status_code)

        threads = [threading.Thread(target=call, args=(i % 2 == 0,)) for i in range(n)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
    assert results == [200] * n
    assert server.max_in_flight == n
    # Serialised would take n * delay; overlapping takes about one delay.
    assert elapsed / (n * delay) < 0.6


# --------------------------------------------------------------------------------------
# scripted behaviours
# --------------------------------------------------------------------------------------


def test_script_runs_in_order_then_falls_back(
    server: FakeOpenAIServer, client: httpx.Client
) -> None:
    server.script(
        fake.rate_limited(retry_after="0.05"),
        fake.rate_limited(retry_after=None, retry_after_ms="50"),
        fake.server_error(),
        Generate(answer="scripted"),
    )
    assert len(server.pending) == 4
    first = client.post("/chat/completions", json=chat_body())
    assert first.status_code == 429
    assert first.headers["retry-after"] == "0.05"
    assert "retry-after-ms" not in first.headers
    assert first.headers["x-ratelimit-remaining-tokens"] == "0"
    assert first.json() == fake.load_fixture_json("error_429_rate_limit_exceeded.json")
    assert first.json()["error"]["code"] == "rate_limit_exceeded"
    assert "Please try again in 300ms." in first.json()["error"]["message"]

    second = client.post("/chat/completions", json=chat_body())
    assert second.status_code == 429
    assert second.headers["retry-after-ms"] == "50"
    assert "retry-after" not in second.headers

    third = client.post("/chat/completions", json=chat_body())
    assert third.status_code == 500
    assert third.json()["error"]["type"] == "server_error"

    fourth = client.post("/chat/completions", json=chat_body()).json()
    assert fourth["choices"][0]["message"]["content"] == "scripted"
    assert server.pending == []
    default = client.post("/chat/completions", json=chat_body()).json()
    assert default["choices"][0]["message"]["content"] == DEFAULT_ANSWER
    assert len(server.chat_requests) == 5


@pytest.mark.parametrize(
    ("status", "code", "error_code"),
    [
        (fake.insufficient_quota(), 429, "insufficient_quota"),
        (fake.overloaded(), 503, None),
        (fake.overloaded(529, retry_after="1"), 529, None),
        (fake.server_error(502), 502, None),
        (fake.unsupported_max_tokens(), 400, "unsupported_parameter"),
        (fake.model_not_found("gpt-x"), 404, "model_not_found"),
        (fake.missing_api_key(), 401, None),
        (fake.bad_request("Bad thing", param="n"), 400, None),
        (Status(418, "not json at all", {"content-type": "text/plain"}), 418, None),
    ],
)
def test_status_helpers(
    server: FakeOpenAIServer,
    client: httpx.Client,
    status: Status,
    code: int,
    error_code: str | None,
) -> None:
    server.script(status)
    response = client.post("/chat/completions", json=chat_body())
    assert response.status_code == code
    for name, value in status.headers.items():
        assert response.headers[name] == value
    if isinstance(status.body, str):
        assert response.text == status.body
        return
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == error_code


def test_status_accepts_dict_body_and_headers(
    server: FakeOpenAIServer, client: httpx.Client
) -> None:
    server.script(Status(503, {"error": {"message": "down"}}, {"retry-after": "2"}))
    response = client.post("/chat/completions", json=chat_body())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json() == {"error": {"message": "down"}}


def test_cut_stream_raises_in_httpx(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.script(CutStream(after_events=3))
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        collect_data_lines(client, chat_body(stream=True), received)
    assert len(received) == 3
    assert "[DONE]" not in received[-1]
    # The server is still healthy for the next request.
    assert client.post("/chat/completions", json=chat_body()).status_code == 200


def test_cut_non_stream_response(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.script(CutStream(after_events=0))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/chat/completions", json=chat_body())


def test_stall_before_headers_times_out(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.script(fake.stall_before_headers(30))
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.post("/chat/completions", json=chat_body(), timeout=0.3)
    assert time.monotonic() - start < 5
    # Shutdown interrupts the 30 s stall immediately.
    start = time.monotonic()
    server.close()
    assert time.monotonic() - start < 5


def test_stall_mid_stream_times_out(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.script(fake.stall_mid_stream(30, after_events=2))
    received: list[str] = []
    with pytest.raises(httpx.ReadTimeout):
        collect_data_lines(client, chat_body(stream=True), received, timeout=0.3)
    assert len(received) == 2


def test_short_stall_then_normal_answer(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.script(Stall(0.2), Stall(0.2, after_events=0))
    start = time.monotonic()
    assert client.post("/chat/completions", json=chat_body()).status_code == 200
    _, lines = read_stream(client, chat_body(stream=True))
    assert content_of(chunks(lines)) == DEFAULT_ANSWER
    assert time.monotonic() - start >= 0.4


def test_error_in_stream(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.script(ErrorInStream(after_events=2))
    response, lines = read_stream(client, chat_body(stream=True))
    assert response.status_code == 200
    payloads = data_payloads(lines)
    assert len(payloads) == 3
    assert "[DONE]" not in payloads
    assert json.loads(payloads[-1]) == {
        "error": {
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }
    server.script(ErrorInStream(0, {"code": 502, "message": "Provider down"}, done=True))
    payloads = data_payloads(read_stream(client, chat_body(stream=True))[1])
    assert payloads == ['{"error":{"code":502,"message":"Provider down"}}', "[DONE]"]


def test_sse_events(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.script(SseEvents([": ping", {"choices": []}, "data: {}"], chunk_delay=0.01))
    _, lines = read_stream(client, chat_body(stream=True))
    assert lines == [": ping", "", 'data: {"choices":[]}', "", "data: {}", "", "data: [DONE]", ""]


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------

SSE_FIXTURES = sorted(p.name for p in FIXTURES_DIR.glob("*.sse"))
JSON_FIXTURES = sorted(p.name for p in FIXTURES_DIR.glob("*.json"))
CHAT_JSON_FIXTURES = [name for name in JSON_FIXTURES if not name.startswith("batch_")]
BATCH_JSON_FIXTURES = [name for name in JSON_FIXTURES if name.startswith("batch_")]


def test_fixture_inventory() -> None:
    assert SSE_FIXTURES == [
        "deepseek-reasoner_stream_reasoning_content.sse",
        "gpt-4o-mini_stream_include_usage.sse",
        "gpt-4o_n3_interleaved.sse",
        "llama-server_stream_usage_timings.sse",
        "o4-mini_stream_reasoning_tokens.sse",
        "openrouter_stream_cost.sse",
        "openrouter_stream_midstream_error.sse",
        "vllm_stream_reasoning.sse",
    ]
    assert len(JSON_FIXTURES) == 16  # 12 replies and errors, 4 batch objects
    for name in SSE_FIXTURES + JSON_FIXTURES:
        assert name in (FIXTURES_DIR / "README.md").read_text()


@pytest.mark.parametrize("name", SSE_FIXTURES)
def test_sse_fixture_replayed_verbatim(
    server: FakeOpenAIServer, client: httpx.Client, name: str
) -> None:
    server.script(Fixture(name))
    with client.stream("POST", "/chat/completions", json=chat_body(stream=True)) as response:
        raw = response.read()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert raw == (FIXTURES_DIR / name).read_bytes()
    payloads = fake.parse_sse(raw.decode())
    for payload in payloads:
        if payload != "[DONE]":
            obj = json.loads(payload)
            assert obj["object"] == "chat.completion.chunk"
    if "error" not in name:
        assert payloads[-1] == "[DONE]"
        usage = [json.loads(p)["usage"] for p in payloads[:-1] if json.loads(p).get("usage")]
        assert len(usage) == 1
        u = usage[0]
        assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]


@pytest.mark.parametrize("name", CHAT_JSON_FIXTURES)
def test_json_fixture_replayed_verbatim(
    server: FakeOpenAIServer, client: httpx.Client, name: str
) -> None:
    server.script(Fixture(name, status=200 if name.startswith("gpt") else int(name[6:9])))
    response = client.post("/chat/completions", json=chat_body())
    assert response.headers["content-type"] == "application/json"
    assert response.content == (FIXTURES_DIR / name).read_bytes()
    body = response.json()
    if name.startswith("error_"):
        assert response.status_code == int(name[6:9])
        assert set(body) == {"error"}
        if "llama" not in name:
            assert set(body["error"]) == {"message", "type", "param", "code"}
    else:
        assert body["object"] == "chat.completion"


@pytest.mark.parametrize("name", BATCH_JSON_FIXTURES)
def test_batch_object_fixtures_are_batch_or_file_objects(name: str) -> None:
    body = json.loads((FIXTURES_DIR / name).read_text())
    if name == "batch_file_object.json":
        assert body["object"] == "file"
        assert body["purpose"] in {"batch", "batch_output"}
    else:
        assert body["object"] == "batch"
        assert body["status"] in {"expired", "failed", "in_progress"}
        assert body["endpoint"] == "/v1/chat/completions"


def test_n3_fixture_interleaves() -> None:
    payloads = fake.parse_sse(fake.load_fixture_text("gpt-4o_n3_interleaved.sse"))
    objs = [json.loads(p) for p in payloads[:-1]]
    order = [o["choices"][0]["index"] for o in objs if o["choices"]]
    assert order[:6] == [0, 0, 1, 1, 2, 2]
    assert order[-3:] == [0, 1, 2]
    assert objs[-1]["choices"] == []
    assert objs[-1]["usage"]["completion_tokens"] == 42


def test_fixture_with_chunk_delay_streams_incrementally(
    server: FakeOpenAIServer, client: httpx.Client
) -> None:
    server.script(Fixture("openrouter_stream_cost.sse", chunk_delay=0.03))
    arrivals: list[float] = []
    start = time.monotonic()
    with client.stream("POST", "/chat/completions", json=chat_body(stream=True)) as response:
        for line in response.iter_lines():
            if line:
                arrivals.append(time.monotonic() - start)
    assert arrivals[0] < 0.35 * arrivals[-1]


# --------------------------------------------------------------------------------------
# lifecycle and helpers
# --------------------------------------------------------------------------------------


def test_close_leaves_no_threads_and_is_idempotent() -> None:
    before = set(threading.enumerate())
    srv = FakeOpenAIServer(delay=0.01)
    with httpx.Client(base_url=srv.base_url) as c:
        assert c.post("/chat/completions", json=chat_body()).status_code == 200
        # The keep-alive connection is still open on the client side while we close.
        assert len(set(threading.enumerate()) - before) >= 2
        start = time.monotonic()
        srv.close()
        assert time.monotonic() - start < 2
    srv.close()
    assert set(threading.enumerate()) - before == set()
    srv.assert_no_errors()


def test_pytest_fixture_helper(fake_openai: FakeOpenAIServer) -> None:
    response = httpx.post(f"{fake_openai.base_url}/chat/completions", json=chat_body())
    assert response.json()["choices"][0]["message"]["content"] == DEFAULT_ANSWER


def test_token_helpers() -> None:
    assert fake.split_tokens("The answer is 4.") == ["The", " answer", " is", " 4."]
    assert fake.split_tokens("  a\n b  ") == ["  a", "\n b  "]
    assert fake.split_tokens("") == []
    assert fake.split_tokens("   ") == ["   "]
    assert fake.count_tokens("The answer is 4.") == 4
    body = {"messages": [{"content": "a b"}, {"content": [{"type": "text", "text": "c d e"}]}]}
    assert fake.prompt_tokens(body) == 5
    assert fake.parse_sse(": c\n\ndata: a\ndata: b\n\ndata: [DONE]\n\n") == ["a\nb", "[DONE]"]
