"""GeminiProvider against the loopback Gemini server: streaming, thought summaries, usage,
request shape, thinking configuration per model, errors and retries, cut and stalled
streams."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

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
from tests.fakes.gemini_server import (
    FakeGeminiServer,
    daily_quota,
    load_fixture_json,
    resource_exhausted,
    unavailable,
)
from tests.fakes.loopback import serving
from tests.provider_support import FAST, PROMPT_WORDS, QUICK, Harness, preset, run_stream
from think.errors import AuthError, ExitCode, ProviderError, StreamCutError
from think.providers.base import Message, ReasoningDelta, TextDelta
from think.providers.gemini import GeminiProvider, thinking_config
from think.providers.http import make_client
from think.providers.http_errors import status_error
from think.providers.options import Timeouts
from think.usage import Usage

KEY = "AIzaSyTest-0123456789abcdefghijklmnopq"
FLASH = "gemini-2.5-flash"


@pytest.fixture
def server() -> Iterator[FakeGeminiServer]:
    yield from serving(FakeGeminiServer(require_api_key=KEY))


KIT = Harness("gemini", GeminiProvider, KEY, FLASH)
endpoint_for, chat, call = KIT.endpoint, KIT.chat, KIT.call


# -- streaming ----------------------------------------------------------------------------


def test_streams_text_finish_and_the_last_chunks_usage(server: FakeGeminiServer) -> None:
    out = call(endpoint_for(server), chat()).ok()
    assert [e.text for e in out.events if isinstance(e, TextDelta)] == ["The answer", " is 4."]
    assert out.reasoning() == ""  # no effort: thinking off on 2.5 Flash
    assert out.finishes == {0: "STOP"}
    assert out.usage == Usage(input_tokens=PROMPT_WORDS, output_tokens=4)
    assert out.attempts == 1


def test_recorded_gemini_3_stream(server: FakeGeminiServer) -> None:
    """Real chunks (llm-gemini's cassette): a thought signature part with no text, thoughts
    billed but not shown."""
    server.script(Fixture("gemini-3-flash-preview_stream.sse"))
    out = call(endpoint_for(server), chat("gemini-3-flash-preview")).ok()
    assert out.text() == "Hello"
    assert out.reasoning() == ""
    assert out.finishes == {0: "STOP"}
    assert out.usage == Usage(input_tokens=4, output_tokens=1 + 27, reasoning_tokens=27)


def test_recorded_thought_summaries_stream(server: FakeGeminiServer) -> None:
    server.script(Fixture("gemini-2.5-flash_stream_thinking.sse"))
    out = call(endpoint_for(server), chat(effort="high", max_tokens=8192)).ok()
    assert out.reasoning().startswith("**Computing the product**")
    assert "23 × 17 agrees." in out.reasoning()
    assert out.text() == "17 × 23 = 391.\n\nThe answer is 391."
    # billable output = candidates + thoughts, from the last chunk only
    assert out.usage == Usage(input_tokens=14, output_tokens=12 + 211, reasoning_tokens=211)
    kinds = [type(e) for e in out.events if isinstance(e, TextDelta | ReasoningDelta)]
    assert kinds == [ReasoningDelta, ReasoningDelta, TextDelta, TextDelta]


def test_recorded_cached_content_stream(server: FakeGeminiServer) -> None:
    server.script(Fixture("gemini-2.5-flash-lite_stream_cached.sse"))
    out = call(endpoint_for(server), chat("gemini-2.5-flash-lite")).ok()
    assert out.text() == "The answer is 4."
    assert out.usage == Usage(input_tokens=2105, output_tokens=5, cached_tokens=2048)


def test_generated_thoughts_with_effort(server: FakeGeminiServer) -> None:
    server.hidden_thought_tokens = 30
    out = call(endpoint_for(server), chat(effort="medium", max_tokens=4096)).ok()
    assert out.reasoning() == DEFAULT_REASONING
    assert out.text() == DEFAULT_ANSWER
    thoughts = 30 + len(DEFAULT_REASONING.split())
    assert out.usage == Usage(
        input_tokens=PROMPT_WORDS, output_tokens=thoughts + 4, reasoning_tokens=thoughts
    )


def test_thoughts_and_answer_share_max_output_tokens(server: FakeGeminiServer) -> None:
    server.hidden_thought_tokens = 200
    limit = 200 + len(DEFAULT_REASONING.split()) + 2  # 2.5 Pro always thinks
    out = call(endpoint_for(server), chat("gemini-2.5-pro", max_tokens=limit)).ok()
    assert out.reasoning() == DEFAULT_REASONING
    assert out.text() == "The answer"
    assert out.finishes == {0: "MAX_TOKENS"}
    assert out.usage.output_tokens == limit


# -- request shape ------------------------------------------------------------------------


def test_request_url_headers_and_body(server: FakeGeminiServer) -> None:
    messages = (
        Message("system", "Be brief."),
        Message("user", "Hi"),
        Message("assistant", "Hello"),
        Message("user", "What is 2 + 2?"),
    )
    request = chat(messages=messages, temperature=0.4, stop=("END",), seed=7)
    call(endpoint_for(server), request).ok()
    sent = server.last_request
    assert sent.path == f"/v1beta/models/{FLASH}:streamGenerateContent?alt=sse"
    assert sent.headers["x-goog-api-key"] == KEY
    assert "authorization" not in sent.headers
    assert sent.json == {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello"}]},
            {"role": "user", "parts": [{"text": "What is 2 + 2?"}]},
        ],
        "generationConfig": {
            "maxOutputTokens": 256,
            "temperature": 0.4,
            "stopSequences": ["END"],
            "seed": 7,
            "thinkingConfig": {"thinkingBudget": 0},
        },
    }


def test_models_prefix_and_base_url_slash(server: FakeGeminiServer) -> None:
    endpoint = preset("gemini", server.base_url + "/", KEY)
    call(endpoint, chat("models/" + FLASH)).ok()
    assert server.last_request.route == f"/v1beta/models/{FLASH}:streamGenerateContent"


@pytest.mark.parametrize(
    ("model", "effort", "max_tokens", "expected"),
    [
        ("gemini-2.5-flash", None, 1024, {"thinkingBudget": 0}),
        ("gemini-2.5-flash", "low", 2048, {"thinkingBudget": 1024, "includeThoughts": True}),
        ("gemini-2.5-flash", "medium", 4096, {"thinkingBudget": 2048, "includeThoughts": True}),
        ("gemini-2.5-flash", "high", 8192, {"thinkingBudget": 4096, "includeThoughts": True}),
        ("gemini-2.5-flash", "high", 1000, {"thinkingBudget": 500, "includeThoughts": True}),
        ("gemini-2.5-flash-lite", None, 1024, {"thinkingBudget": 0}),
        ("gemini-2.5-flash-lite", "low", 600, {"thinkingBudget": 512, "includeThoughts": True}),
        ("gemini-2.5-pro", None, 1024, {"thinkingBudget": 128, "includeThoughts": True}),
        ("gemini-2.5-pro", "high", 8192, {"thinkingBudget": 4096, "includeThoughts": True}),
        ("gemini-2.5-pro", "low", 100, {"thinkingBudget": 128, "includeThoughts": True}),
        ("gemini-3-pro-preview", None, 1024, {"thinkingLevel": "low", "includeThoughts": True}),
        (
            "gemini-3-pro-preview",
            "medium",
            4096,
            {"thinkingLevel": "high", "includeThoughts": True},
        ),
        (
            "gemini-3-flash-preview",
            None,
            1024,
            {"thinkingLevel": "minimal", "includeThoughts": True},
        ),
        (
            "gemini-3.1-flash-lite",
            "medium",
            4096,
            {"thinkingLevel": "medium", "includeThoughts": True},
        ),
        ("gemini-2.0-flash", "high", 8192, None),
    ],
)
def test_thinking_config_per_model_and_effort(
    server: FakeGeminiServer,
    model: str,
    effort: str | None,
    max_tokens: int,
    expected: dict[str, Any] | None,
) -> None:
    assert thinking_config(model, effort, max_tokens) == expected  # type: ignore[arg-type]
    # and the fake (which checks the budget ranges like the API) accepts it
    call(endpoint_for(server), chat(model, effort=effort, max_tokens=max_tokens)).ok()
    assert server.last_request.json["generationConfig"].get("thinkingConfig") == expected


def test_capabilities(server: FakeGeminiServer) -> None:
    provider = GeminiProvider(endpoint_for(server), make_client(QUICK), FAST)
    caps = provider.capabilities(FLASH)
    assert (caps.supports_n, caps.streams_usage, caps.native_reasoning) == (False, True, True)
    assert caps.min_reasoning_max_tokens == 0
    assert provider.capabilities("gemini-2.0-flash").native_reasoning is False
    run_stream(provider, chat())


def test_candidate_count_is_sent_only_for_n_above_1(server: FakeGeminiServer) -> None:
    call(endpoint_for(server), chat()).ok()
    assert "candidateCount" not in server.last_request.json["generationConfig"]
    out = call(endpoint_for(server), chat(n=2))  # refused when streaming, like the real API
    assert "Multiple candidates" in str(out.failed())


# -- non-streaming ------------------------------------------------------------------------


def test_non_streaming_generate_content(server: FakeGeminiServer) -> None:
    out = call(endpoint_for(server, stream=False), chat(effort="low", max_tokens=2048)).ok()
    assert server.last_request.path == f"/v1beta/models/{FLASH}:generateContent"
    assert out.reasoning() == DEFAULT_REASONING
    assert out.text() == DEFAULT_ANSWER
    assert out.finishes == {0: "STOP"}


def test_recorded_generate_content(server: FakeGeminiServer) -> None:
    server.script(Fixture("gemini-2.5-flash_generate_content.json"))
    out = call(endpoint_for(server, stream=False), chat()).ok()
    assert out.reasoning() == "**Multiplying**\n\n17 × 20 + 17 × 3 = 391."
    assert out.text() == "The answer is 391."
    assert out.usage == Usage(input_tokens=14, output_tokens=6 + 125, reasoning_tokens=125)


def test_json_array_form_reply_to_a_stream_request(server: FakeGeminiServer) -> None:
    server.script(Fixture("gemini-3-flash-preview_stream_array.json"))
    out = call(endpoint_for(server), chat("gemini-3-flash-preview")).ok()
    assert out.text() == "Hello"
    assert out.usage.output_tokens == 28


# -- errors that are not retried ------------------------------------------------------------


def test_invalid_key_400_is_an_auth_error_not_retried(server: FakeGeminiServer) -> None:
    out = call(endpoint_for(server, api_key="AIzaSyWrong-000000000000000000000000"), chat())
    error = out.failed(AuthError)
    assert error.exit_code == ExitCode.AUTH
    assert str(error) == "gemini: HTTP 400: API key not valid. Please pass a valid API key."
    assert len(server.requests) == 1


def test_no_key_header_403_is_an_auth_error(server: FakeGeminiServer) -> None:
    out = call(endpoint_for(server, api_key=None, key_required=False), chat())
    assert "unregistered callers" in str(out.failed(AuthError))
    assert len(server.requests) == 1


def test_missing_key_names_both_environment_variables(server: FakeGeminiServer) -> None:
    out = call(endpoint_for(server, api_key=None), chat())
    assert str(out.failed(AuthError)) == "gemini: no API key; set GEMINI_API_KEY or GOOGLE_API_KEY"
    assert server.requests == []


def test_unknown_model_404_is_not_retried(server: FakeGeminiServer) -> None:
    server.known_models = [FLASH]
    error = call(endpoint_for(server), chat("gemini-9-pro")).failed()
    assert (error.status, error.retryable) == (404, False)
    assert "models/gemini-9-pro is not found" in str(error)
    assert len(server.requests) == 1


def test_400_invalid_argument_is_not_retried(server: FakeGeminiServer) -> None:
    server.script(Status(400, load_fixture_json("error_400_invalid_argument.json")))
    error = call(endpoint_for(server), chat()).failed()
    assert error.status == 400
    assert "thinking budget 50000 is invalid" in str(error)
    assert len(server.requests) == 1


def test_429_with_retry_info_then_success(server: FakeGeminiServer) -> None:
    server.script(resource_exhausted())
    out = call(endpoint_for(server), chat()).ok()
    assert out.text() == DEFAULT_ANSWER
    assert out.attempts == 2


def test_429_retry_delay_is_read_from_the_body() -> None:
    raw = FakeGeminiServer.fixture_path("error_429_resource_exhausted.json").read_bytes()
    error = status_error("gemini", 429, {}, raw)
    assert (error.retryable, error.retry_after) == (True, 0.05)
    assert str(error).startswith("gemini: HTTP 429: You exceeded your current quota")


def test_daily_quota_429_is_not_retried(server: FakeGeminiServer) -> None:
    server.script(daily_quota())
    error = call(endpoint_for(server), chat()).failed()
    assert (error.status, error.retryable) == (429, False)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "status",
    [unavailable(), Status(500, load_fixture_json("error_500_internal.json"))],
    ids=["503", "500"],
)
def test_server_errors_are_retried_then_succeed(server: FakeGeminiServer, status: Status) -> None:
    server.script(status)
    out = call(endpoint_for(server), chat()).ok()
    assert out.attempts == 2


def test_503_every_time_gives_up(server: FakeGeminiServer) -> None:
    server.script(unavailable(), unavailable(), unavailable())
    error = call(endpoint_for(server), chat()).failed()
    assert str(error) == (
        "gemini: HTTP 503: The model is overloaded. Please try again later. "
        "(gave up after 3 attempts)"
    )


def test_array_wrapped_error_body(server: FakeGeminiServer) -> None:
    body = load_fixture_json("error_400_api_key_invalid.json")
    import json

    server.script(Status(400, json.dumps([body])))
    out = call(endpoint_for(server), chat())
    assert "API key not valid" in str(out.failed(AuthError))


# -- errors inside the stream, cut and stalled streams ---------------------------------------


def test_recorded_error_chunk_inside_the_stream(server: FakeGeminiServer) -> None:
    server.script(Fixture("gemini-2.5-pro_stream_error.sse"))
    out = call(endpoint_for(server), chat("gemini-2.5-pro"))
    error = out.failed()
    assert str(error).startswith("gemini: error in stream: An internal error has occurred.")
    assert "(INTERNAL)" in str(error)
    assert (error.status, error.retryable) == (500, True)
    assert out.text() == "The answer"
    assert out.usages == []
    assert len(server.requests) == 1


def test_generated_error_chunk(server: FakeGeminiServer) -> None:
    server.script(
        ErrorInStream(1, {"code": 429, "message": "Slow down", "status": "RESOURCE_EXHAUSTED"})
    )
    error = call(endpoint_for(server), chat()).failed()
    assert error.status == 429
    assert "Slow down (RESOURCE_EXHAUSTED)" in str(error)


def test_cut_stream_is_a_stream_cut_error_with_usage_unknown(server: FakeGeminiServer) -> None:
    server.script(CutStream(after_events=1))
    out = call(endpoint_for(server), chat())
    assert "cut off" in str(out.failed(StreamCutError))
    assert out.text() == "The answer"
    assert out.usages == []


def test_stream_ending_without_a_finish_reason(server: FakeGeminiServer) -> None:
    server.script(
        SseEvents([{"candidates": [{"content": {"parts": [{"text": "Hal"}]}, "index": 0}]}])
    )
    out = call(endpoint_for(server), chat())
    assert "ended before the answer was complete" in str(out.failed(StreamCutError))
    assert out.usages == []


def test_stalled_stream_hits_the_idle_timeout(server: FakeGeminiServer) -> None:
    server.script(Stall(30, after_events=1))
    out = call(endpoint_for(server), chat(), timeouts=Timeouts(connect=2.0, idle=0.3))
    assert "stalled" in str(out.failed())
    assert out.text() == "The answer"


def test_connection_reset_before_the_response_is_retried(server: FakeGeminiServer) -> None:
    server.script(Hangup())
    out = call(endpoint_for(server), chat()).ok()
    assert out.text() == DEFAULT_ANSWER
    assert out.attempts == 2


def test_blocked_prompt_is_an_error(server: FakeGeminiServer) -> None:
    server.script(
        SseEvents(
            [
                {
                    "promptFeedback": {"blockReason": "SAFETY"},
                    "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
                }
            ]
        )
    )
    assert "the prompt was blocked (SAFETY)" in str(call(endpoint_for(server), chat()).failed())


def test_key_in_the_query_string_is_accepted_by_the_fake(server: FakeGeminiServer) -> None:
    response = httpx.post(
        f"{server.base_url}/v1beta/models/{FLASH}:generateContent?key={KEY}",
        json={"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]},
    )
    assert response.status_code == 200
    assert response.json()["candidates"][0]["finishReason"] == "STOP"


def test_fake_unknown_route_is_googles_404(server: FakeGeminiServer) -> None:
    response = httpx.get(f"{server.base_url}/v1beta/models")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == "NOT_FOUND"


def test_provider_errors_are_provider_errors() -> None:
    assert issubclass(AuthError, ProviderError)
