"""AnthropicMessagesProvider against the loopback Anthropic server: streaming, thinking, usage
and cache pricing, request shape, errors and retries, cut and stalled streams."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import calc_price, extract_usage

from tests.fakes.anthropic_server import (
    FakeAnthropicServer,
    authentication_error,
    claude_usage,
    load_fixture_json,
    overloaded,
    rate_limited,
    stream_payloads,
)
from tests.fakes.behaviours import (
    DEFAULT_ANSWER,
    DEFAULT_REASONING,
    CutStream,
    ErrorInStream,
    Fixture,
    Hangup,
    SseEvents,
    Stall,
    Status,
)
from tests.fakes.loopback import serving
from tests.provider_support import FAST, PROMPT_WORDS, QUICK, Harness, run_stream
from think.errors import AuthError, ExitCode, ProviderError, StreamCutError
from think.pricing import lookup_price
from think.providers.anthropic_messages import (
    AnthropicMessagesProvider,
    claude_version,
    thinking_mode,
)
from think.providers.base import ChoiceFinished, ReasoningDelta, TextDelta, TierServed
from think.providers.http import make_client
from think.providers.options import Timeouts
from think.usage import Usage

KEY = "sk-ant-api03-test-0123456789abcdef"
SONNET = "claude-sonnet-4-5"


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    yield from serving(FakeAnthropicServer(require_api_key=KEY))


KIT = Harness("anthropic", AnthropicMessagesProvider, KEY, SONNET)
endpoint_for, chat, call = KIT.endpoint, KIT.chat, KIT.call


# -- streaming ----------------------------------------------------------------------------


def test_streams_text_deltas_finish_and_usage(server: FakeAnthropicServer) -> None:
    out = call(endpoint_for(server), chat()).ok()
    assert [e.text for e in out.events if isinstance(e, TextDelta)] == [
        "The",
        " answer",
        " is",
        " 4.",
    ]
    assert out.reasoning() == ""
    assert out.finishes == {0: "end_turn"}
    assert out.usage == Usage(input_tokens=PROMPT_WORDS, output_tokens=4)
    assert out.attempts == 1
    # The usage comes once, after the finish and the tier that served the message.
    assert isinstance(out.events[-3], ChoiceFinished)
    assert out.events[-2] == TierServed("standard")


def test_recorded_thinking_stream(server: FakeAnthropicServer) -> None:
    server.script(Fixture("claude-sonnet-4-5_stream_thinking.sse"))
    out = call(endpoint_for(server), chat(effort="high", max_tokens=8192)).ok()
    assert out.reasoning().startswith("The user wants 17 × 23.")
    assert out.reasoning().endswith("230 + 161 = 391.")
    assert out.text() == "17 × 23 = 391 (340 + 51).\n\nThe answer is 391."
    assert out.finishes == {0: "end_turn"}
    assert out.usage == Usage(input_tokens=41, output_tokens=187, reasoning_tokens=164)
    kinds = [type(e) for e in out.events if isinstance(e, TextDelta | ReasoningDelta)]
    assert kinds.index(TextDelta) == kinds.count(ReasoningDelta)  # all thinking comes first


def test_recorded_cache_usage_is_priced_at_read_and_write_rates(
    server: FakeAnthropicServer,
) -> None:
    server.script(Fixture("claude-haiku-4-5_stream_cached.sse"))
    out = call(endpoint_for(server), chat("claude-haiku-4-5")).ok()
    assert out.text() == "The answer is 4."
    # input_tokens excludes the cache: the whole prompt is 12 + 1500 written + 2048 read.
    assert out.usage == Usage(
        input_tokens=12 + 1500 + 2048,
        output_tokens=8,
        cached_tokens=2048,
        cache_write_tokens=1500,
        cache_write_1h_tokens=500,
    )
    price = lookup_price("anthropic", "claude-haiku-4-5", price_provider="anthropic", overrides={})
    assert price is not None
    # haiku 4.5: $1 input, $0.10 cache read, $1.25 5-minute write, $2 1-hour write, $5 output
    expected = (
        12 * Decimal("1")
        + 2048 * Decimal("0.1")
        + 1000 * Decimal("1.25")
        + 500 * Decimal("2")
        + 8 * Decimal("5")
    ) / 1_000_000
    assert price.cost(out.usage) == expected
    # ... which is what genai-prices makes of the same raw usage object
    raw = claude_usage("claude-haiku-4-5_stream_cached.sse")
    extracted = extract_usage({"model": "claude-haiku-4-5", "usage": raw}, provider_id="anthropic")
    assert (
        calc_price(extracted.usage, "claude-haiku-4-5", provider_id="anthropic").total_price
        == expected
    )


def test_message_delta_usage_wins_over_message_start(server: FakeAnthropicServer) -> None:
    server.cache_read_tokens = 3
    server.cache_write_tokens = 2
    out = call(endpoint_for(server), chat()).ok()
    assert out.usage == Usage(
        input_tokens=PROMPT_WORDS, output_tokens=4, cached_tokens=3, cache_write_tokens=2
    )


def test_ping_and_unknown_events_are_ignored(server: FakeAnthropicServer) -> None:
    server.script(
        SseEvents(
            [
                {
                    "type": "message_start",
                    "message": {"usage": {"input_tokens": 5, "output_tokens": 1}},
                },
                {"type": "ping"},
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": "Hi"},
                },
                {"type": "future_event_kind", "whatever": True},
                {"type": "content_block_delta", "index": 0, "delta": {"type": "citations_delta"}},
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "!"},
                },
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "max_tokens"},
                    "usage": {"output_tokens": 2},
                },
                {"type": "message_stop"},
            ]
        )
    )
    out = call(endpoint_for(server), chat()).ok()
    assert out.text() == "Hi!"
    assert out.finishes == {0: "max_tokens"}
    assert out.usage == Usage(input_tokens=5, output_tokens=2)


def test_max_tokens_stop_reason_from_the_server(server: FakeAnthropicServer) -> None:
    out = call(endpoint_for(server), chat(max_tokens=2)).ok()
    assert out.text() == "The answer"
    assert out.finishes == {0: "max_tokens"}


# -- request shape ------------------------------------------------------------------------


def test_request_headers_and_body(server: FakeAnthropicServer) -> None:
    call(endpoint_for(server), chat(temperature=0.3, stop=("END",), seed=7)).ok()
    request = server.last_request
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert request.json == {
        "model": SONNET,
        "max_tokens": 256,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "What is 2 + 2?"}],
        "temperature": 0.3,
        "stop_sequences": ["END"],
        "stream": True,
    }


def test_several_system_messages_are_joined_and_assistant_turns_kept(
    server: FakeAnthropicServer,
) -> None:
    from think.providers.base import Message

    messages = (
        Message("system", "One."),
        Message("system", "Two."),
        Message("user", "Hi"),
        Message("assistant", "Hello"),
        Message("user", "Again"),
    )
    call(endpoint_for(server), chat(messages=messages)).ok()
    body = server.last_request.json
    assert body["system"] == "One.\n\nTwo."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]


@pytest.mark.parametrize(
    ("effort", "max_tokens", "sent_max", "budget"),
    [
        ("low", 2048, 2048, 1024),
        ("medium", 4096, 4096, 2048),
        ("high", 8192, 8192, 4096),
        ("high", 32000, 32000, 4096),
        ("high", 3000, 3000, 1500),
        ("low", 256, 2048, 1024),  # raised: the budget must be >= 1024 and < max_tokens
    ],
)
def test_effort_becomes_a_thinking_budget(
    server: FakeAnthropicServer, effort: str, max_tokens: int, sent_max: int, budget: int
) -> None:
    out = call(
        endpoint_for(server), chat(effort=effort, max_tokens=max_tokens, temperature=0.7)
    ).ok()
    body = server.last_request.json
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == sent_max
    assert "temperature" not in body  # the API accepts only the default with thinking
    assert out.reasoning() == DEFAULT_REASONING
    assert out.text() == DEFAULT_ANSWER
    words = len(DEFAULT_REASONING.split())
    assert out.usage.reasoning_tokens == words
    assert out.usage.output_tokens == words + 4


def test_hidden_thinking_tokens_are_billed(server: FakeAnthropicServer) -> None:
    server.hidden_thinking_tokens = 50
    out = call(endpoint_for(server), chat(effort="low", max_tokens=2048)).ok()
    words = len(DEFAULT_REASONING.split())
    assert out.usage.reasoning_tokens == 50 + words
    assert out.usage.output_tokens == 50 + words + 4


def test_adaptive_thinking_on_claude_4_6_and_later(server: FakeAnthropicServer) -> None:
    call(endpoint_for(server), chat("claude-opus-4-6", effort="medium", temperature=0.2)).ok()
    body = server.last_request.json
    assert body["thinking"] == {"type": "adaptive"}
    assert body["output_config"] == {"effort": "medium"}
    assert body["max_tokens"] == 256
    assert "temperature" not in body


@pytest.mark.parametrize(
    ("model", "sent"),
    [
        ("claude-haiku-4-5", True),
        ("claude-sonnet-4-6", True),  # thinking is off unless asked for
        ("claude-opus-4-7", False),  # thinking cannot be switched off: only the default
        ("claude-opus-5", False),
    ],
)
def test_temperature_without_effort(server: FakeAnthropicServer, model: str, sent: bool) -> None:
    call(endpoint_for(server), chat(model, temperature=0.7)).ok()
    body = server.last_request.json
    assert "thinking" not in body
    assert ("temperature" in body) is sent


@pytest.mark.parametrize("model", ["claude-3-5-haiku-latest", "claude-3-opus-20240229"])
def test_no_thinking_on_models_without_it(server: FakeAnthropicServer, model: str) -> None:
    call(endpoint_for(server), chat(model, effort="high", temperature=0.5)).ok()
    body = server.last_request.json
    assert "thinking" not in body
    assert body["temperature"] == 0.5


@pytest.mark.parametrize(
    ("model", "version", "mode"),
    [
        ("claude-sonnet-4-5-20250929", (4, 5), "budget"),
        ("claude-sonnet-4-5", (4, 5), "budget"),
        ("claude-haiku-4-5", (4, 5), "budget"),
        ("claude-opus-4-1", (4, 1), "budget"),
        ("claude-sonnet-4-20250514", (4, 0), "budget"),
        ("claude-3-7-sonnet-latest", (3, 7), "budget"),
        ("claude-3-5-haiku-20241022", (3, 5), None),
        ("claude-3-opus-20240229", (3, 0), None),
        ("claude-opus-4-6", (4, 6), "adaptive"),
        ("claude-sonnet-4-6", (4, 6), "adaptive"),
        ("claude-fable-5", (5, 0), "adaptive"),
        ("not-a-claude", None, None),
    ],
)
def test_model_generations(model: str, version: tuple[int, int] | None, mode: str | None) -> None:
    assert claude_version(model) == version
    assert thinking_mode(model) == mode


def test_capabilities(server: FakeAnthropicServer) -> None:
    provider = AnthropicMessagesProvider(endpoint_for(server), make_client(QUICK), FAST)
    sonnet = provider.capabilities(SONNET)
    assert (sonnet.supports_n, sonnet.streams_usage, sonnet.native_reasoning) == (False, True, True)
    assert sonnet.min_reasoning_max_tokens == 2048
    assert provider.capabilities("claude-opus-4-6").min_reasoning_max_tokens == 0
    assert provider.capabilities("claude-3-5-haiku-latest").native_reasoning is False
    run_stream(provider, chat())  # closes it


def test_n_above_1_is_refused_without_a_request(server: FakeAnthropicServer) -> None:
    out = call(endpoint_for(server), chat(n=3))
    assert "n must be 1" in str(out.failed(ProviderError))
    assert server.requests == []


# -- non-streaming ------------------------------------------------------------------------


def test_non_streaming_message(server: FakeAnthropicServer) -> None:
    out = call(endpoint_for(server, stream=False), chat(effort="low", max_tokens=2048)).ok()
    assert "stream" not in server.last_request.json
    assert out.reasoning() == DEFAULT_REASONING
    assert out.text() == DEFAULT_ANSWER
    assert out.finishes == {0: "end_turn"}
    assert out.usage.output_tokens == len(DEFAULT_REASONING.split()) + 4


def test_recorded_non_streamed_message(server: FakeAnthropicServer) -> None:
    server.script(Fixture("claude-sonnet-4-5_message_thinking.json"))
    out = call(endpoint_for(server, stream=False), chat()).ok()
    assert out.reasoning() == "17 × 20 = 340 and 17 × 3 = 51, so 391."
    assert out.text() == "The answer is 391."
    assert out.usage == Usage(
        input_tokens=28 + 800, output_tokens=106, reasoning_tokens=67, cached_tokens=800
    )


def test_json_reply_to_a_stream_request_is_read_whole(server: FakeAnthropicServer) -> None:
    server.script(Fixture("claude-sonnet-4-5_message_thinking.json"))
    out = call(endpoint_for(server), chat()).ok()
    assert out.text() == "The answer is 391."


# -- errors that are not retried ------------------------------------------------------------


def test_wrong_key_is_an_auth_error_not_retried(server: FakeAnthropicServer) -> None:
    out = call(endpoint_for(server, api_key="sk-ant-wrong-key-000000"), chat())
    error = out.failed(AuthError)
    assert error.exit_code == ExitCode.AUTH
    assert str(error) == "anthropic: HTTP 401: invalid x-api-key"
    assert len(server.requests) == 1


def test_missing_key_is_an_auth_error_before_any_request(server: FakeAnthropicServer) -> None:
    out = call(endpoint_for(server, api_key=None), chat())
    assert str(out.failed(AuthError)) == "anthropic: no API key; set ANTHROPIC_API_KEY"
    assert server.requests == []


def test_unknown_model_404_is_not_retried(server: FakeAnthropicServer) -> None:
    server.known_models = [SONNET]
    out = call(endpoint_for(server), chat("claude-sonnet-9"))
    error = out.failed()
    assert (error.status, error.retryable) == (404, False)
    assert "model: claude-sonnet-9" in str(error)
    assert len(server.requests) == 1


def test_400_is_not_retried(server: FakeAnthropicServer) -> None:
    server.script(Status(400, load_fixture_json("error_400_invalid_request_error.json")))
    error = call(endpoint_for(server), chat()).failed()
    assert error.status == 400
    assert "must be greater than `thinking.budget_tokens`" in str(error)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "status",
    [
        rate_limited(),
        rate_limited(retry_after=None, retry_after_ms="50"),
        overloaded(),
        Status(500, load_fixture_json("error_500_api_error.json")),
    ],
    ids=["429-retry-after", "429-retry-after-ms", "529", "500"],
)
def test_transient_errors_are_retried_then_succeed(
    server: FakeAnthropicServer, status: Status
) -> None:
    server.script(status)
    out = call(endpoint_for(server), chat()).ok()
    assert out.text() == DEFAULT_ANSWER
    assert out.attempts == 2
    assert len(server.requests) == 2


def test_529_every_time_gives_up_with_the_message(server: FakeAnthropicServer) -> None:
    server.script(overloaded(), overloaded(), overloaded())
    error = call(endpoint_for(server), chat()).failed()
    assert str(error) == "anthropic: HTTP 529: Overloaded (gave up after 3 attempts)"
    assert error.exit_code == ExitCode.PROVIDER


def test_401_is_not_retried_even_when_scripted(server: FakeAnthropicServer) -> None:
    server.script(authentication_error())
    call(endpoint_for(server), chat()).failed(AuthError)
    assert len(server.requests) == 1


# -- errors inside the stream, cut and stalled streams ---------------------------------------


def test_recorded_overloaded_error_event_inside_the_stream(server: FakeAnthropicServer) -> None:
    server.script(Fixture("claude-sonnet-4-5_stream_overloaded_error.sse"))
    out = call(endpoint_for(server), chat())
    error = out.failed()
    assert str(error) == "anthropic: error in stream: Overloaded (overloaded_error)"
    assert (error.status, error.retryable) == (529, True)
    assert out.text() == "The"  # delivered before the error
    assert out.usages == []
    assert len(server.requests) == 1  # a started stream is not retried


def test_generated_error_event(server: FakeAnthropicServer) -> None:
    # Before any text, so retried: three attempts (the policy's bound), then the error.
    server.script(
        *[ErrorInStream(2, {"type": "api_error", "message": "Internal server error"})] * 3
    )
    error = call(endpoint_for(server), chat()).failed()
    assert len(server.requests) == 3
    assert error.status == 500
    assert "Internal server error" in str(error)


def test_cut_stream_is_a_stream_cut_error_with_usage_unknown(server: FakeAnthropicServer) -> None:
    server.script(CutStream(after_events=4))
    out = call(endpoint_for(server), chat())
    assert "cut off" in str(out.failed(StreamCutError))
    assert out.text() == "The"
    assert out.usages == []


def test_stream_closed_before_the_stop_reason(server: FakeAnthropicServer) -> None:
    server.script(
        SseEvents(
            [
                {"type": "message_start", "message": {"usage": {"input_tokens": 5}}},
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "Hal"},
                },
            ]
        )
    )
    out = call(endpoint_for(server), chat())
    assert "ended before the answer was complete" in str(out.failed(StreamCutError))
    assert out.usages == []


def test_stalled_stream_hits_the_idle_timeout(server: FakeAnthropicServer) -> None:
    server.script(Stall(30, after_events=4))
    out = call(endpoint_for(server), chat(), timeouts=Timeouts(connect=2.0, idle=0.3))
    assert "stalled" in str(out.failed())
    assert out.text() == "The"


def test_connection_reset_before_the_response_is_retried(server: FakeAnthropicServer) -> None:
    server.script(Hangup())
    out = call(endpoint_for(server), chat()).ok()
    assert out.text() == DEFAULT_ANSWER
    assert out.attempts == 2


def test_silent_server_before_headers_is_retried(server: FakeAnthropicServer) -> None:
    server.script(Stall(30))
    out = call(endpoint_for(server), chat(), timeouts=Timeouts(connect=2.0, idle=0.3)).ok()
    assert out.attempts == 2


def test_key_echoed_in_an_error_is_masked(server: FakeAnthropicServer) -> None:
    server.script(
        Status(
            400,
            {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": f"bad key {KEY}"},
            },
        )
    )
    error = call(endpoint_for(server), chat()).failed()
    assert KEY not in str(error)


# -- the fake itself ----------------------------------------------------------------------


def test_fake_stream_follows_the_recorded_event_order(server: FakeAnthropicServer) -> None:
    import httpx

    body = {
        "model": SONNET,
        "max_tokens": 4096,
        "stream": True,
        "messages": [{"role": "user", "content": "Hi"}],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    raw = httpx.post(f"{server.base_url}/v1/messages", json=body, headers=headers).text
    names = [name for name, _ in stream_payloads(raw)]
    recorded = [
        name
        for name, _ in stream_payloads(
            FakeAnthropicServer.fixture_path("claude-sonnet-4-5_stream_thinking.sse").read_text()
        )
    ]

    def shape(seq: list[str]) -> list[str]:  # collapse repeated deltas
        return [n for i, n in enumerate(seq) if i == 0 or n != seq[i - 1]]

    assert shape(names) == shape(recorded)
    assert (
        json.loads(json.dumps(dict(stream_payloads(raw))["message_delta"]))["usage"][
            "output_tokens"
        ]
        > 0
    )


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"model": SONNET, "messages": []}, "max_tokens: Field required"),
        ({"model": SONNET, "max_tokens": 5, "n": 2, "messages": []}, "n: Extra inputs"),
        (
            {"model": SONNET, "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]},
            "Unexpected role",
        ),
        (
            {
                "model": SONNET,
                "max_tokens": 2000,
                "thinking": {"type": "enabled", "budget_tokens": 512},
                "messages": [],
            },
            "greater than or equal to 1024",
        ),
        (
            {
                "model": SONNET,
                "max_tokens": 1024,
                "thinking": {"type": "enabled", "budget_tokens": 1024},
                "messages": [],
            },
            "must be greater than",
        ),
        (
            {
                "model": SONNET,
                "max_tokens": 4096,
                "temperature": 0.5,
                "thinking": {"type": "enabled", "budget_tokens": 1024},
                "messages": [],
            },
            "temperature",
        ),
    ],
)
def test_fake_rejects_what_the_api_rejects(
    server: FakeAnthropicServer, body: dict[str, Any], needle: str
) -> None:
    import httpx

    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    response = httpx.post(f"{server.base_url}/v1/messages", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert needle in response.json()["error"]["message"]
    no_version = httpx.post(f"{server.base_url}/v1/messages", json=body, headers={"x-api-key": KEY})
    assert "anthropic-version" in no_version.json()["error"]["message"]


def test_overloaded_event_before_any_text_is_retried(server: FakeAnthropicServer) -> None:
    # Anthropic often sends message_start and then an overloaded_error event: nothing was
    # delivered, so the request is simply made again.
    server.script(ErrorInStream(1, {"type": "overloaded_error", "message": "Overloaded"}))
    out = call(endpoint_for(server), chat()).ok()
    assert out.text() == DEFAULT_ANSWER
    assert len(server.requests) == 2
