"""Error mapping, bounded retries, timeouts and broken streams, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.openai_server import (
    DEFAULT_ANSWER,
    CutStream,
    ErrorInStream,
    FakeOpenAIServer,
    Fixture,
    SseEvents,
    Stall,
    Status,
    bad_request,
    insufficient_quota,
    invalid_api_key,
    llama_server_n_error,
    missing_api_key,
    model_not_found,
    overloaded,
    rate_limited,
    server_error,
    stall_before_headers,
    stall_mid_stream,
    unsupported_max_tokens,
)
from tests.provider_support import FAST, QUICK, Outcome, call
from think.errors import AuthError, ExitCode, ProviderError, StreamCutError
from think.providers.base import (
    ChatRequest,
    Message,
    ResponseStarted,
    TextDelta,
    UsageReported,
)
from think.providers.endpoint import Endpoint
from think.providers.http import make_client
from think.providers.http_errors import MAX_HONOURED_RETRY_AFTER, parse_retry_after
from think.providers.openai_chat import OpenAIChatProvider
from think.providers.options import RetryPolicy, Timeouts

REQUEST = ChatRequest(
    model="gpt-4o-mini", messages=(Message("user", "What is 2 + 2?"),), max_tokens=64
)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv
    srv.assert_no_errors()


def endpoint_for(server: FakeOpenAIServer | str, **changes: Any) -> Endpoint:
    base_url = server if isinstance(server, str) else server.base_url
    base = Endpoint(
        name="fake",
        protocol="openai-chat",
        base_url=base_url,
        api_key="sk-test-key",
        key_env=("FAKE_API_KEY",),
        supports_n=True,
        max_tokens_field="max_completion_tokens",
    )
    return dataclasses.replace(base, **changes)


def run_stream(
    endpoint: Endpoint,
    request: ChatRequest = REQUEST,
    *,
    policy: RetryPolicy = FAST,
    timeouts: Timeouts = QUICK,
) -> Outcome:
    return call(OpenAIChatProvider, endpoint, request, policy, timeouts)


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- errors that are not retried --------------------------------------------------------


def test_401_is_an_auth_error_with_the_server_message_and_not_retried(
    server: FakeOpenAIServer,
) -> None:
    server.require_api_key = "sk-the-right-key"
    out = run_stream(endpoint_for(server, api_key="sk-wrong-key-123456"))
    error = out.failed(AuthError)
    assert error.exit_code == ExitCode.AUTH
    assert isinstance(error, ProviderError)
    assert error.status == 401
    assert "HTTP 401" in str(error)
    assert "Incorrect API key provided: sk-wr***3456" in str(error)
    assert "\n" not in str(error)  # one line, whatever the body's formatting
    assert out.events == []
    assert len(server.chat_requests) == 1


def test_401_without_a_key_at_all(server: FakeOpenAIServer) -> None:
    server.script(missing_api_key())
    out = run_stream(endpoint_for(server, api_key=None, key_required=False))
    error = out.failed(AuthError)
    assert "You didn't provide an API key" in str(error)
    assert len(server.chat_requests) == 1


def test_403_is_an_auth_error_and_not_retried(server: FakeOpenAIServer) -> None:
    server.script(Status(403, {"error": {"message": "Country not supported", "code": 403}}))
    error = run_stream(endpoint_for(server)).failed(AuthError)
    assert error.exit_code == ExitCode.AUTH
    assert "Country not supported" in str(error)
    assert len(server.chat_requests) == 1


def test_401_is_not_retried_even_with_a_scripted_invalid_key(server: FakeOpenAIServer) -> None:
    server.script(invalid_api_key("sk-abcdefghijklmnop"), invalid_api_key())
    error = run_stream(endpoint_for(server)).failed(AuthError)
    assert "sk-ab***mnop" in str(error)
    assert len(server.chat_requests) == 1


def test_404_model_not_found_is_a_provider_error_not_retried(server: FakeOpenAIServer) -> None:
    server.known_models = ["gpt-4o-mini"]
    out = run_stream(endpoint_for(server), dataclasses.replace(REQUEST, model="gpt-9-turbo"))
    error = out.failed()
    assert not isinstance(error, AuthError)
    assert isinstance(error, ProviderError)
    assert error.exit_code == ExitCode.PROVIDER
    assert error.status == 404
    assert error.retryable is False
    assert "The model `gpt-9-turbo` does not exist" in str(error)
    assert "gave up" not in str(error)
    assert len(server.chat_requests) == 1


def test_scripted_404_is_not_retried(server: FakeOpenAIServer) -> None:
    server.script(model_not_found("nope"))
    error = run_stream(endpoint_for(server)).failed()
    assert "The model `nope` does not exist" in str(error)
    assert len(server.chat_requests) == 1


@pytest.mark.parametrize(
    ("status", "needle"),
    [
        (bad_request("Invalid value for 'n'.", param="n"), "Invalid value for 'n'."),
        (unsupported_max_tokens(), "Unsupported parameter: 'max_tokens'"),
    ],
)
def test_400_is_not_retried(server: FakeOpenAIServer, status: Status, needle: str) -> None:
    server.script(status, status)
    error = run_stream(endpoint_for(server)).failed()
    assert isinstance(error, ProviderError)
    assert error.status == 400
    assert needle in str(error)
    assert len(server.chat_requests) == 1


def test_429_insufficient_quota_is_not_retried(server: FakeOpenAIServer) -> None:
    server.script(insufficient_quota(), insufficient_quota())
    error = run_stream(endpoint_for(server)).failed()
    assert isinstance(error, ProviderError)
    assert error.status == 429
    assert error.retryable is False
    assert "You exceeded your current quota" in str(error)
    assert len(server.chat_requests) == 1


def test_x_should_retry_false_is_respected(server: FakeOpenAIServer) -> None:
    status = server_error()
    server.script(dataclasses.replace(status, headers={"x-should-retry": "false"}))
    error = run_stream(endpoint_for(server)).failed()
    assert isinstance(error, ProviderError)
    assert error.status == 500
    assert "gave up" not in str(error)
    assert len(server.chat_requests) == 1


def test_x_should_retry_true_retries_even_a_400(server: FakeOpenAIServer) -> None:
    status = bad_request("Try again.")
    server.script(dataclasses.replace(status, headers={"x-should-retry": "true"}))
    out = run_stream(endpoint_for(server))
    assert out.error is None
    assert out.attempts == 2
    assert len(server.chat_requests) == 2


def test_retry_after_beyond_the_cap_is_not_retried(server: FakeOpenAIServer) -> None:
    server.script(rate_limited(retry_after=str(int(MAX_HONOURED_RETRY_AFTER) + 1)))
    error = run_stream(endpoint_for(server)).failed()
    assert isinstance(error, ProviderError)
    assert error.status == 429
    assert "Rate limit reached for gpt-4o-mini" in str(error)
    assert len(server.chat_requests) == 1


# -- errors that are retried ------------------------------------------------------------


def test_429_with_retry_after_then_success(server: FakeOpenAIServer) -> None:
    server.script(rate_limited(retry_after="0.05"))
    out = run_stream(endpoint_for(server))
    assert out.error is None
    assert out.text() == DEFAULT_ANSWER
    assert out.attempts == 2
    assert isinstance(out.events[0], ResponseStarted)
    assert any(isinstance(e, UsageReported) for e in out.events)
    assert len(server.chat_requests) == 2
    # The retry is the same request again.
    first, second = server.chat_requests
    assert first.json == second.json


def test_retry_after_ms_is_preferred_over_retry_after(server: FakeOpenAIServer) -> None:
    # retry-after alone (beyond the cap) would mean "do not retry"; retry-after-ms wins.
    server.script(rate_limited(retry_after="600", retry_after_ms="50"))
    out = run_stream(endpoint_for(server))
    assert out.error is None
    assert out.attempts == 2
    assert len(server.chat_requests) == 2


def test_retry_after_ms_sets_the_wait(server: FakeOpenAIServer) -> None:
    # A long honoured wait then a short one: the gaps between attempts follow the headers
    # (not the policy's tiny backoff). Compared with each other only, not with a clock.
    server.script(
        rate_limited(retry_after=None, retry_after_ms="400"),
        rate_limited(retry_after=None, retry_after_ms="20"),
    )
    out = run_stream(endpoint_for(server), policy=RetryPolicy(max_retries=2, base_delay=0.001))
    assert out.error is None
    assert out.attempts == 3
    t = [r.monotonic for r in server.chat_requests]
    assert t[1] - t[0] > t[2] - t[1]


def test_last_error_carries_the_parsed_retry_after(server: FakeOpenAIServer) -> None:
    server.script(*[rate_limited(retry_after=None, retry_after_ms="10")] * 3)
    error = run_stream(endpoint_for(server)).failed()
    assert isinstance(error, ProviderError)
    assert error.retry_after == pytest.approx(0.01)


@pytest.mark.parametrize(
    "status",
    [
        server_error(500),
        server_error(502),
        overloaded(503),
        overloaded(529),
        Status(408, {"error": {"message": "Request timed out."}}),
        Status(409, {"error": {"message": "Conflict."}}),
        Status(502, "<html><body>502 Bad Gateway</body></html>"),
    ],
    ids=["500", "502", "503", "529", "408", "409", "502-html"],
)
def test_transient_statuses_are_retried(server: FakeOpenAIServer, status: Status) -> None:
    server.script(status)
    out = run_stream(endpoint_for(server))
    assert out.error is None
    assert out.text() == DEFAULT_ANSWER
    assert out.attempts == 2
    assert len(server.chat_requests) == 2


def test_retries_exhausted(server: FakeOpenAIServer) -> None:
    server.script(overloaded(503), overloaded(503), overloaded(503), overloaded(503))
    error = run_stream(endpoint_for(server)).failed()
    assert isinstance(error, ProviderError)
    assert error.exit_code == ExitCode.PROVIDER
    assert error.status == 503
    assert error.attempts == 3
    assert "That model is currently overloaded" in str(error)
    assert "gave up after 3 attempts" in str(error)
    assert len(server.chat_requests) == 3


@pytest.mark.parametrize("max_retries", [0, 1, 4])
def test_attempts_follow_max_retries(server: FakeOpenAIServer, max_retries: int) -> None:
    server.script(*[server_error()] * 10)
    policy = RetryPolicy(max_retries=max_retries, base_delay=0.001)
    error = run_stream(endpoint_for(server), policy=policy).failed()
    assert len(server.chat_requests) == max_retries + 1
    if max_retries:
        assert f"gave up after {max_retries + 1} attempts" in str(error)
    else:
        assert "gave up" not in str(error)


def test_non_json_error_body_is_shown_as_text(server: FakeOpenAIServer) -> None:
    server.script(*[Status(502, "upstream connect error or disconnect/reset")] * 3)
    error = run_stream(endpoint_for(server)).failed()
    assert "HTTP 502: upstream connect error or disconnect/reset" in str(error)


def test_empty_error_body_uses_the_reason_phrase(server: FakeOpenAIServer) -> None:
    server.script(Status(404, ""))
    error = run_stream(endpoint_for(server)).failed()
    assert "HTTP 404: Not Found" in str(error)


# -- connections, timeouts, broken streams ----------------------------------------------


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    error = run_stream(endpoint_for(url)).failed()
    assert isinstance(error, ProviderError)
    assert not isinstance(error, AuthError)
    assert error.exit_code == ExitCode.PROVIDER
    assert "connection refused" in str(error).lower()
    assert url in str(error)
    assert error.attempts == 3  # connection failures are retried too


def test_stream_cut_midway_is_a_stream_cut_error_after_the_deltas(
    server: FakeOpenAIServer,
) -> None:
    # Events: role chunk, "The", " answer", <cut>.
    server.script(CutStream(after_events=3))
    out = run_stream(endpoint_for(server))
    error = out.failed(StreamCutError)
    assert isinstance(error, ProviderError)
    assert error.exit_code == ExitCode.PROVIDER
    assert "cut" in str(error)
    assert [e.text for e in out.events if isinstance(e, TextDelta)] == ["The", " answer"]
    assert not any(isinstance(e, UsageReported) for e in out.events)
    assert len(server.chat_requests) == 1  # a started stream is never retried


def test_non_streaming_body_cut_midway(server: FakeOpenAIServer) -> None:
    server.script(CutStream(after_events=1))
    out = run_stream(endpoint_for(server, stream=False))
    error = out.failed(StreamCutError)
    assert error.exit_code == ExitCode.PROVIDER
    assert out.text() == ""
    assert len(server.chat_requests) == 1


def test_non_streaming_body_stalled_after_headers(server: FakeOpenAIServer) -> None:
    server.script(Stall(30.0, after_events=0))
    out = run_stream(endpoint_for(server, stream=False), timeouts=Timeouts(idle=0.3))
    error = out.failed()
    assert isinstance(error, ProviderError)
    assert "stall" in str(error)
    assert len(server.chat_requests) == 1


def test_stream_closed_cleanly_before_finish_is_a_stream_cut_error(
    server: FakeOpenAIServer,
) -> None:
    server.script(
        SseEvents(
            [{"choices": [{"index": 0, "delta": {"content": "partial"}}]}],
            done=False,
        )
    )
    out = run_stream(endpoint_for(server))
    out.failed(StreamCutError)
    assert out.text() == "partial"


def test_stream_closed_after_finish_without_done_is_fine(server: FakeOpenAIServer) -> None:
    server.script(
        SseEvents(
            [{"choices": [{"index": 0, "delta": {"content": "all"}, "finish_reason": "stop"}]}],
            done=False,
        )
    )
    out = run_stream(endpoint_for(server))
    assert out.error is None
    assert out.text() == "all"


def test_n3_stream_cut_before_every_choice_finished(server: FakeOpenAIServer) -> None:
    server.script(
        SseEvents(
            [
                {"choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": "stop"}]},
                {"choices": [{"index": 1, "delta": {"content": "b"}, "finish_reason": "stop"}]},
                {"choices": [{"index": 2, "delta": {"content": "c"}}]},
            ],
            done=False,
        )
    )
    out = run_stream(endpoint_for(server), dataclasses.replace(REQUEST, n=3))
    out.failed(StreamCutError)


def test_stalled_stream_hits_the_idle_timeout(server: FakeOpenAIServer) -> None:
    server.script(stall_mid_stream(30.0, after_events=2))
    out = run_stream(endpoint_for(server), timeouts=Timeouts(connect=2.0, idle=0.3))
    error = out.failed()
    assert isinstance(error, ProviderError)
    assert not isinstance(error, AuthError)
    assert "stall" in str(error)
    assert out.text() == "The"  # role chunk, "The", then silence
    assert len(server.chat_requests) == 1


def test_server_silent_before_headers_hits_the_idle_timeout(server: FakeOpenAIServer) -> None:
    server.script(stall_before_headers(30.0))
    policy = RetryPolicy(max_retries=0, base_delay=0.001)
    out = run_stream(endpoint_for(server), policy=policy, timeouts=Timeouts(idle=0.3))
    error = out.failed()
    assert isinstance(error, ProviderError)
    assert "timed out" in str(error)
    assert out.events == []


def test_timeout_before_headers_is_retried(server: FakeOpenAIServer) -> None:
    server.script(stall_before_headers(30.0))
    out = run_stream(endpoint_for(server), timeouts=Timeouts(idle=0.3))
    assert out.error is None
    assert out.attempts == 2
    assert out.text() == DEFAULT_ANSWER


def test_error_inside_a_200_stream(server: FakeOpenAIServer) -> None:
    server.script(ErrorInStream(after_events=2))
    out = run_stream(endpoint_for(server))
    error = out.failed()
    assert isinstance(error, ProviderError)
    assert not isinstance(error, StreamCutError)
    assert "The server had an error while processing your request" in str(error)
    assert out.text() == "The"
    assert len(server.chat_requests) == 1


def test_retryable_error_in_a_stream_before_any_text_is_retried(server: FakeOpenAIServer) -> None:
    # The first event is the role chunk (no text): nothing was delivered, so a 502-coded
    # error is retried like a failed request.
    server.script(ErrorInStream(after_events=1, error={"message": "boom", "code": 502}, done=True))
    out = run_stream(endpoint_for(server))
    assert out.error is None
    assert out.text() == DEFAULT_ANSWER
    assert len(server.chat_requests) == 2
    started = [e for e in out.events if isinstance(e, ResponseStarted)]
    assert [e.attempts for e in started] == [1, 2]


def test_error_in_a_stream_retries_share_the_bound(server: FakeOpenAIServer) -> None:
    boom = ErrorInStream(after_events=1, error={"message": "boom", "code": 502}, done=True)
    server.script(boom, boom, boom, boom)
    error = run_stream(endpoint_for(server)).failed()
    assert isinstance(error, ProviderError)
    assert "boom" in str(error)
    assert error.status == 502
    assert len(server.chat_requests) == 3  # max_retries=2: three attempts in all
    assert error.attempts == 3


def test_error_inside_a_200_json_body(server: FakeOpenAIServer) -> None:
    server.script(ErrorInStream(after_events=0))
    error = run_stream(endpoint_for(server, stream=False)).failed()
    assert "The server had an error while processing your request" in str(error)


def test_openrouter_midstream_error_recorded(server: FakeOpenAIServer) -> None:
    server.script(Fixture("openrouter_stream_midstream_error.sse"))
    out = run_stream(endpoint_for(server, usage_in_stream="always"))
    error = out.failed()
    assert "Provider disconnected unexpectedly" in str(error)
    assert out.text() == "The answer"


def test_malformed_stream_data(server: FakeOpenAIServer) -> None:
    server.script(SseEvents(["data: {not json"]))
    error = run_stream(endpoint_for(server)).failed()
    assert "malformed stream data" in str(error)


def test_llama_server_rejects_n_greater_than_1(server: FakeOpenAIServer) -> None:
    # An endpoint wrongly configured with supports_n sends n=3 to a llama-server.
    server.supports_n = False
    out = run_stream(
        endpoint_for(server, supports_n=True, usage_in_stream="always"),
        dataclasses.replace(REQUEST, n=3),
        policy=RetryPolicy(max_retries=0),
    )
    error = out.failed()
    assert isinstance(error, ProviderError)
    assert error.status == 500
    assert "Only one completion choice is allowed" in str(error)
    assert server.chat_requests[0].json["n"] == 3


def test_llama_server_n_error_body_scripted(server: FakeOpenAIServer) -> None:
    server.script(*[llama_server_n_error()] * 3)
    error = run_stream(endpoint_for(server), dataclasses.replace(REQUEST, n=2)).failed()
    assert "HTTP 500: Only one completion choice is allowed" in str(error)


# -- parse_retry_after ------------------------------------------------------------------


def test_parse_retry_after_seconds() -> None:
    assert parse_retry_after({"retry-after": "2"}) == 2.0


def test_parse_retry_after_float_seconds() -> None:
    assert parse_retry_after({"retry-after": "0.25"}) == 0.25


def test_parse_retry_after_ms() -> None:
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "20", "retry-after": "7"}) == 0.02


def test_parse_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    when = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": when}, now=now) == pytest.approx(30.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after({"retry-after": past}, now=now) == 0.0


def test_parse_retry_after_garbage() -> None:
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": ""}) is None
    # A bad retry-after-ms falls back to retry-after.
    assert parse_retry_after({"retry-after-ms": "x", "retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "x"}) is None


def test_parse_retry_after_never_negative() -> None:
    assert parse_retry_after({"retry-after": "-5"}) == 0.0
    assert parse_retry_after({"retry-after-ms": "-5"}) == 0.0


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0)
    for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)]:
        delay = policy.backoff(attempt)
        assert 0.75 * full <= delay <= full


def test_json_error_body_with_status_200_on_a_streaming_request(
    server: FakeOpenAIServer,
) -> None:
    # Some servers answer a failed streaming request with a plain JSON error and HTTP 200.
    server.script(Status(200, {"error": {"message": "Model is loading, try later"}}))
    out = run_stream(endpoint_for(server))
    error = out.failed()
    assert not isinstance(error, StreamCutError)
    assert "Model is loading, try later" in str(error)


def test_a_key_echoed_by_the_server_is_masked_in_the_error(
    fake_openai: FakeOpenAIServer,
) -> None:
    from tests.fakes.openai_server import Status
    from think.providers.base import ChatRequest, Message
    from think.providers.endpoint import Endpoint
    from think.providers.openai_chat import OpenAIChatProvider
    from think.providers.options import RetryPolicy, Timeouts

    key = "sk-live-secret-key-0123456789"
    fake_openai.script(Status(401, {"error": {"message": f"Key {key} is revoked"}}))
    fake_openai.script(ErrorInStream(1, {"message": f"quota for {key} exceeded", "code": 429}))
    endpoint = Endpoint(
        name="openai", protocol="openai-chat", base_url=fake_openai.base_url, api_key=key
    )
    for _ in range(2):
        provider = OpenAIChatProvider(endpoint, make_client(Timeouts()), RetryPolicy(0))
        request = ChatRequest("gpt-4o-mini", (Message("user", "hi"),), max_tokens=10)

        async def consume(p: OpenAIChatProvider = provider, r: ChatRequest = request) -> None:
            try:
                async for _ in p.stream(r):
                    pass
            finally:
                await p.aclose()

        with pytest.raises(ProviderError) as caught:
            asyncio.run(consume())
        assert key not in str(caught.value)
        assert "sk-…6789" in str(caught.value)
