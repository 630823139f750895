"""OpenAIChatProvider against the loopback OpenAI server: streaming, usage, request shape,
reasoning text and server quirks. (Errors and retries: test_http_retries.py.)"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.fakes.openai_server import (
    DEFAULT_ANSWER,
    DEFAULT_REASONING,
    FakeOpenAIServer,
    Fixture,
    Generate,
    SseEvents,
    load_fixture_json,
    load_fixture_text,
    parse_sse,
)
from tests.provider_support import FAST, MESSAGES, PROMPT_WORDS, QUICK, Outcome, call
from think.errors import AuthError, ExitCode
from think.providers.base import (
    Capabilities,
    ChatRequest,
    ChoiceFinished,
    Message,
    Provider,
    ReasoningDelta,
    ResponseStarted,
    TextDelta,
    TierServed,
    UsageReported,
    split_for,
)
from think.providers.endpoint import Endpoint
from think.providers.http import make_client
from think.providers.openai_chat import OpenAIChatProvider
from think.providers.options import RetryPolicy, Timeouts
from think.providers.presets import OPENAI_REASONING
from think.usage import Usage

PROMPT_TOKENS = PROMPT_WORDS
ANSWER_TOKENS = len(DEFAULT_ANSWER.split())
REASONING_TOKENS = len(DEFAULT_REASONING.split())


# -- helpers ----------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv
    srv.assert_no_errors()


def endpoint_for(server: FakeOpenAIServer, **changes: Any) -> Endpoint:
    base = Endpoint(
        name="fake",
        protocol="openai-chat",
        base_url=server.base_url,
        api_key="sk-test-key",
        key_env=("FAKE_API_KEY",),
        supports_n=True,
        max_tokens_field="max_completion_tokens",
    )
    return dataclasses.replace(base, **changes)


def chat(model: str = "gpt-4o-mini", **changes: Any) -> ChatRequest:
    return dataclasses.replace(
        ChatRequest(model=model, messages=MESSAGES, max_tokens=256), **changes
    )


def run_stream(
    endpoint: Endpoint,
    request: ChatRequest,
    *,
    policy: RetryPolicy = FAST,
    timeouts: Timeouts = QUICK,
) -> Outcome:
    return call(OpenAIChatProvider, endpoint, request, policy, timeouts)


# -- streaming text and usage -----------------------------------------------------------


def test_streams_text_deltas_in_order(server: FakeOpenAIServer) -> None:
    out = run_stream(endpoint_for(server), chat()).ok()
    assert isinstance(out.events[0], ResponseStarted)
    assert out.events[0].attempts == 1
    deltas = [e for e in out.events if isinstance(e, TextDelta)]
    assert [d.text for d in deltas] == ["The", " answer", " is", " 4."]
    assert all(d.index == 0 for d in deltas)
    # The served tier comes with the first chunk, the finish after the text, the usage last.
    kinds = [type(e).__name__ for e in out.events]
    assert kinds == [
        "ResponseStarted",
        "TierServed",
        *["TextDelta"] * 4,
        "ChoiceFinished",
        "UsageReported",
    ]
    assert out.finishes == {0: "stop"}
    assert len(server.chat_requests) == 1


def test_usage_chunk_is_parsed_with_include_usage() -> None:
    with FakeOpenAIServer(cached_tokens=3, hidden_reasoning_tokens=5) as server:
        out = run_stream(endpoint_for(server), chat()).ok()
        assert server.last_request.json["stream_options"] == {"include_usage": True}
    assert out.usage == Usage(
        input_tokens=PROMPT_TOKENS,
        output_tokens=ANSWER_TOKENS + 5,
        reasoning_tokens=5,
        cached_tokens=3,
        source="reported",
    )
    assert out.text() == DEFAULT_ANSWER
    server.assert_no_errors()


def test_usage_from_recorded_openai_stream(server: FakeOpenAIServer) -> None:
    server.script(Fixture("gpt-4o-mini_stream_include_usage.sse"))
    out = run_stream(endpoint_for(server), chat()).ok()
    assert out.text() == "The answer is 4."
    assert out.usage == Usage(input_tokens=1542, output_tokens=6, cached_tokens=1280)
    assert out.usage.reported_cost_usd is None


def test_reasoning_tokens_from_recorded_o4_mini_stream(server: FakeOpenAIServer) -> None:
    server.script(Fixture("o4-mini_stream_reasoning_tokens.sse"))
    endpoint = endpoint_for(server, reasoning_models=OPENAI_REASONING)
    out = run_stream(endpoint, chat("o4-mini", effort="medium")).ok()
    assert out.text() == "The answer is 4."
    assert out.reasoning() == ""  # Chat Completions never returns OpenAI reasoning text
    assert out.usage == Usage(input_tokens=19, output_tokens=198, reasoning_tokens=192)


def test_usage_always_in_stream_llama_server() -> None:
    with FakeOpenAIServer(
        usage_in_stream="always", usage_placement="finish_chunk", supports_n=False
    ) as server:
        endpoint = endpoint_for(
            server, usage_in_stream="always", supports_n=False, max_tokens_field="max_tokens"
        )
        out = run_stream(endpoint, chat()).ok()
        body = server.last_request.json
    assert "stream_options" not in body
    assert body["stream"] is True
    assert out.text() == DEFAULT_ANSWER
    assert out.usage == Usage(input_tokens=PROMPT_TOKENS, output_tokens=ANSWER_TOKENS)
    # Usage rides on the finish chunk: the finish is reported before the usage.
    assert isinstance(out.events[-1], UsageReported)
    assert isinstance(out.events[-2], ChoiceFinished)
    server.assert_no_errors()


def test_usage_on_finish_chunk_from_recorded_llama_server_stream(
    server: FakeOpenAIServer,
) -> None:
    server.script(Fixture("llama-server_stream_usage_timings.sse"))
    endpoint = endpoint_for(server, usage_in_stream="always", supports_n=False)
    out = run_stream(endpoint, chat()).ok()
    assert out.text() == "The answer is 4."
    assert out.finishes == {0: "stop"}
    assert out.usage == Usage(input_tokens=24, output_tokens=6, cached_tokens=13)


def test_usage_never_in_stream_llama_cpp_python() -> None:
    with FakeOpenAIServer(usage_in_stream="never", supports_n=False) as server:
        endpoint = endpoint_for(
            server, usage_in_stream="never", supports_n=False, max_tokens_field="max_tokens"
        )
        provider = OpenAIChatProvider(endpoint, make_client(QUICK), FAST)
        assert provider.capabilities("any").streams_usage is False
        asyncio.run(provider.aclose())
        out = run_stream(endpoint, chat()).ok()
        body = server.last_request.json
    assert "stream_options" not in body
    assert out.text() == DEFAULT_ANSWER
    assert out.usages == []
    assert out.finishes == {0: "stop"}
    server.assert_no_errors()


def test_non_streaming_endpoint_parses_chat_completion(server: FakeOpenAIServer) -> None:
    server.cached_tokens = 2
    endpoint = endpoint_for(server, stream=False)
    out = run_stream(endpoint, chat()).ok()
    body = server.last_request.json
    assert "stream" not in body
    assert "stream_options" not in body
    assert [type(e) for e in out.events] == [
        ResponseStarted,
        TierServed,
        TextDelta,
        ChoiceFinished,
        UsageReported,
    ]
    assert out.text() == DEFAULT_ANSWER
    assert out.finishes == {0: "stop"}
    assert out.usage == Usage(
        input_tokens=PROMPT_TOKENS, output_tokens=ANSWER_TOKENS, cached_tokens=2
    )


def test_non_streaming_recorded_chat_completion(server: FakeOpenAIServer) -> None:
    server.script(Fixture("gpt-4o-mini_chat_completion.json"))
    out = run_stream(endpoint_for(server, stream=False), chat()).ok()
    assert out.text() == "The answer is 4."
    assert out.usage == Usage(input_tokens=1542, output_tokens=6, cached_tokens=1280)


def test_non_streaming_reasoning_content_and_length_finish() -> None:
    with FakeOpenAIServer(reasoning_field="reasoning_content") as server:
        endpoint = endpoint_for(server, stream=False)
        out = run_stream(endpoint, chat(max_tokens=REASONING_TOKENS + 2)).ok()
    assert out.reasoning() == DEFAULT_REASONING
    assert out.text() == "The answer"
    assert out.finishes == {0: "length"}
    assert out.usage.reasoning_tokens == REASONING_TOKENS
    assert out.usage.output_tokens == REASONING_TOKENS + 2
    server.assert_no_errors()


def test_non_streaming_n_choices(server: FakeOpenAIServer) -> None:
    server.answer = lambda body, i: f"choice {i}"
    out = run_stream(endpoint_for(server, stream=False), chat(n=3)).ok()
    assert out.texts() == {0: "choice 0", 1: "choice 1", 2: "choice 2"}
    assert out.finishes == {0: "stop", 1: "stop", 2: "stop"}
    assert out.usage.output_tokens == 6


# -- n > 1 ------------------------------------------------------------------------------


def _fixture_texts(name: str) -> dict[int, str]:
    """Per-choice text of a recorded stream, computed without the provider's parser."""
    texts: dict[int, str] = defaultdict(str)
    for payload in parse_sse(load_fixture_text(name)):
        if payload == "[DONE]":
            continue
        for choice in json.loads(payload)["choices"]:
            texts[choice["index"]] += choice["delta"].get("content") or ""
    return dict(texts)


def test_n3_interleaved_recorded_stream_is_routed_by_index(server: FakeOpenAIServer) -> None:
    expected = _fixture_texts("gpt-4o_n3_interleaved.sse")
    assert len(expected) == 3
    assert len(set(expected.values())) > 1  # the three samples differ
    server.script(Fixture("gpt-4o_n3_interleaved.sse"))
    out = run_stream(endpoint_for(server), chat("gpt-4o", n=3)).ok()
    assert out.texts() == expected
    for text in out.texts().values():
        json.loads(text)  # each choice is a complete JSON document again
    assert out.finishes == {0: "stop", 1: "stop", 2: "stop"}
    assert out.usage == Usage(input_tokens=79, output_tokens=42)
    assert server.last_request.json["n"] == 3


def test_n3_generated_interleaved_choices_are_routed_by_index(
    server: FakeOpenAIServer,
) -> None:
    server.answer = lambda body, i: f"Sample {i} says the answer is {i * 7}."
    out = run_stream(endpoint_for(server), chat(n=3)).ok()
    assert out.texts() == {i: f"Sample {i} says the answer is {i * 7}." for i in range(3)}
    # The server really interleaved them: index changes between consecutive deltas.
    indexes = [e.index for e in out.events if isinstance(e, TextDelta)]
    assert indexes[:3] == [0, 1, 2]
    assert out.finishes == {0: "stop", 1: "stop", 2: "stop"}
    assert out.usage.output_tokens == 3 * 7
    assert out.usage.input_tokens == PROMPT_TOKENS  # counted once for all choices


def test_split_for_makes_n_copies_without_n_support() -> None:
    request = chat(n=3, temperature=0.7, seed=5)
    parts = split_for(request, Capabilities(supports_n=False))
    assert len(parts) == 3
    assert all(p == dataclasses.replace(request, n=1) for p in parts)


def test_split_for_keeps_one_request_with_n_support_or_n_1() -> None:
    request = chat(n=3)
    assert split_for(request, Capabilities(supports_n=True)) == [request]
    single = chat()
    assert split_for(single, Capabilities(supports_n=False)) == [single]


def test_split_requests_against_a_server_without_n(server: FakeOpenAIServer) -> None:
    server.supports_n = False
    server.answer = lambda body, i: "only one"
    endpoint = endpoint_for(server, supports_n=False)
    provider_caps = OpenAIChatProvider(endpoint, make_client(QUICK), FAST).capabilities("m")
    parts = split_for(chat(n=3), provider_caps)

    async def run() -> list[str]:
        provider = OpenAIChatProvider(endpoint, make_client(QUICK), FAST)
        try:

            async def one(request: ChatRequest) -> str:
                return "".join(
                    [e.text async for e in provider.stream(request) if isinstance(e, TextDelta)]
                )

            return await asyncio.gather(*(one(p) for p in parts))
        finally:
            await provider.aclose()

    assert asyncio.run(run()) == ["only one"] * 3
    assert len(server.chat_requests) == 3
    assert all("n" not in r.json for r in server.chat_requests)


# -- request shape ----------------------------------------------------------------------


def test_request_body_basics_and_headers(server: FakeOpenAIServer) -> None:
    endpoint = endpoint_for(server, headers={"HTTP-Referer": "https://example.test"})
    run_stream(endpoint, chat(seed=42, stop=("END",), temperature=0.3)).ok()
    request = server.last_request
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-key"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["http-referer"] == "https://example.test"
    assert request.json == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is 2 + 2?"},
        ],
        "max_completion_tokens": 256,
        "temperature": 0.3,
        "stop": ["END"],
        "seed": 42,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


@pytest.mark.parametrize(
    ("field", "absent"),
    [("max_completion_tokens", "max_tokens"), ("max_tokens", "max_completion_tokens")],
)
def test_max_tokens_field_follows_the_endpoint(
    server: FakeOpenAIServer, field: str, absent: str
) -> None:
    run_stream(endpoint_for(server, max_tokens_field=field), chat(max_tokens=99)).ok()
    body = server.last_request.json
    assert body[field] == 99
    assert absent not in body


@pytest.mark.parametrize(
    ("usage_in_stream", "expected"),
    [("include_usage", {"include_usage": True}), ("always", None), ("never", None)],
)
def test_stream_options_only_when_include_usage(
    server: FakeOpenAIServer, usage_in_stream: str, expected: dict[str, bool] | None
) -> None:
    run_stream(endpoint_for(server, usage_in_stream=usage_in_stream), chat()).ok()
    assert server.last_request.json.get("stream_options") == expected


@pytest.mark.parametrize("model", ["o4-mini", "o3", "o1-preview", "gpt-5", "gpt-5-mini"])
def test_reasoning_models_get_effort_and_no_temperature(
    server: FakeOpenAIServer, model: str
) -> None:
    endpoint = endpoint_for(server, reasoning_models=OPENAI_REASONING)
    run_stream(endpoint, chat(model, temperature=0.7, effort="high", stop=("X",))).ok()
    body = server.last_request.json
    assert body["reasoning_effort"] == "high"
    assert "temperature" not in body
    assert "stop" not in body
    assert body["max_completion_tokens"] == 256


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-4.1", "gpt-5-chat-latest"])
def test_other_models_get_temperature_and_no_effort(server: FakeOpenAIServer, model: str) -> None:
    endpoint = endpoint_for(server, reasoning_models=OPENAI_REASONING)
    run_stream(endpoint, chat(model, temperature=0.7, effort="high")).ok()
    body = server.last_request.json
    assert body["temperature"] == 0.7
    assert "reasoning_effort" not in body


def test_optional_fields_are_omitted_when_unset(server: FakeOpenAIServer) -> None:
    run_stream(endpoint_for(server), chat()).ok()
    body = server.last_request.json
    for key in ("n", "temperature", "reasoning_effort", "stop", "seed"):
        assert key not in body


def test_base_url_without_v1_and_with_trailing_slash(server: FakeOpenAIServer) -> None:
    run_stream(endpoint_for(server, base_url=server.root_url + "/"), chat()).ok()
    assert server.last_request.path == "/chat/completions"


def test_no_authorization_header_without_a_key_when_none_is_required(
    server: FakeOpenAIServer,
) -> None:
    endpoint = endpoint_for(server, api_key=None, key_required=False)
    assert run_stream(endpoint, chat()).ok().text() == DEFAULT_ANSWER
    assert "authorization" not in server.last_request.headers


def test_capabilities_follow_the_endpoint(server: FakeOpenAIServer) -> None:
    provider = OpenAIChatProvider(
        endpoint_for(server, supports_n=False, reasoning_models=OPENAI_REASONING),
        make_client(QUICK),
        FAST,
    )
    assert isinstance(provider, Provider)
    assert provider.name == "fake"
    caps = provider.capabilities("o4-mini")
    assert (caps.supports_n, caps.streams_usage, caps.native_reasoning) == (False, True, True)
    assert provider.capabilities("gpt-4o").native_reasoning is False
    asyncio.run(provider.aclose())
    never = OpenAIChatProvider(
        endpoint_for(server, usage_in_stream="never", stream=False), make_client(QUICK), FAST
    )
    assert never.capabilities("m").streams_usage is True  # non-stream bodies carry usage
    asyncio.run(never.aclose())


# -- missing key ------------------------------------------------------------------------


def test_missing_key_is_an_auth_error_naming_the_env_var(server: FakeOpenAIServer) -> None:
    endpoint = endpoint_for(server, api_key=None, key_env=("FAKE_API_KEY", "FAKE_OTHER_KEY"))
    out = run_stream(endpoint, chat())
    assert isinstance(out.error, AuthError)
    assert out.error.exit_code == ExitCode.AUTH
    assert "FAKE_API_KEY" in str(out.error)
    assert "FAKE_OTHER_KEY" in str(out.error)
    assert out.events == []
    assert server.requests == []


def test_missing_key_without_env_names_the_config_key(server: FakeOpenAIServer) -> None:
    out = run_stream(endpoint_for(server, api_key=None, key_env=()), chat())
    assert isinstance(out.error, AuthError)
    assert "providers.fake.api_key" in str(out.error)
    assert server.requests == []


# -- reasoning text ---------------------------------------------------------------------


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_deltas_from_reasoning_fields(field: str) -> None:
    with FakeOpenAIServer(reasoning_field=field) as server:  # type: ignore[arg-type]
        out = run_stream(endpoint_for(server), chat()).ok()
    assert out.reasoning() == DEFAULT_REASONING
    assert out.text() == DEFAULT_ANSWER
    kinds = [type(e) for e in out.events if isinstance(e, TextDelta | ReasoningDelta)]
    first_text = kinds.index(TextDelta)
    assert set(kinds[:first_text]) == {ReasoningDelta}
    assert set(kinds[first_text:]) == {TextDelta}
    assert out.usage.reasoning_tokens == REASONING_TOKENS
    server.assert_no_errors()


def test_reasoning_content_from_recorded_deepseek_stream(server: FakeOpenAIServer) -> None:
    server.script(Fixture("deepseek-reasoner_stream_reasoning_content.sse"))
    out = run_stream(endpoint_for(server), chat("deepseek-reasoner")).ok()
    assert out.reasoning() == "The user asks for 2 + 2. Two plus two is four."
    assert out.text() == "The answer is 4."
    assert out.usage == Usage(input_tokens=14, output_tokens=21, reasoning_tokens=15)


def test_reasoning_from_recorded_vllm_stream(server: FakeOpenAIServer) -> None:
    server.script(Fixture("vllm_stream_reasoning.sse"))
    out = run_stream(endpoint_for(server), chat("Qwen/Qwen3-8B")).ok()
    assert out.reasoning() == "The user asks for 2 + 2."
    assert out.text() == "\n\nThe answer is 4."
    assert out.usage == Usage(input_tokens=16, output_tokens=15)


def test_reasoning_from_inline_think_tags(server: FakeOpenAIServer) -> None:
    server.answer = "<think>Two plus two is four.</think>\n\nThe answer is 4."
    out = run_stream(endpoint_for(server), chat()).ok()
    assert out.reasoning() == "Two plus two is four."
    assert out.text() == "The answer is 4."
    assert "<think>" not in out.text()


def test_inline_think_tags_split_across_deltas_and_choices(server: FakeOpenAIServer) -> None:
    def delta(index: int, content: str) -> dict[str, Any]:
        return {"choices": [{"index": index, "delta": {"content": content}}]}

    server.script(
        SseEvents(
            [
                delta(0, "<thi"),
                delta(1, "no tags"),
                delta(0, "nk>step"),
                delta(0, " one</th"),
                delta(1, " here"),
                delta(0, "ink>"),
                delta(0, "\n\nDone."),
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                {"choices": [{"index": 1, "delta": {}, "finish_reason": "stop"}]},
            ]
        )
    )
    out = run_stream(endpoint_for(server), chat(n=2)).ok()
    assert (out.reasoning(0), out.text(0)) == ("step one", "Done.")
    assert (out.reasoning(1), out.text(1)) == ("", "no tags here")


def test_unclosed_think_tag_is_flushed_as_reasoning_at_finish(server: FakeOpenAIServer) -> None:
    server.script(
        SseEvents(
            [
                {"choices": [{"index": 0, "delta": {"content": "<think>ran out of tok"}}]},
                {"choices": [{"index": 0, "delta": {"content": "ens </thi"}}]},
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]},
            ]
        )
    )
    out = run_stream(endpoint_for(server), chat()).ok()
    assert out.reasoning() == "ran out of tokens </thi"
    assert out.text() == ""
    assert out.finishes == {0: "length"}
    # The flushed reasoning comes before the finish event of its choice.
    assert isinstance(out.events[-1], ChoiceFinished)


# -- gateway quirks ---------------------------------------------------------------------


def test_openrouter_cost_from_recorded_stream_with_keepalives(server: FakeOpenAIServer) -> None:
    server.script(Fixture("openrouter_stream_cost.sse"))
    endpoint = endpoint_for(server, usage_in_stream="always", supports_n=False)
    out = run_stream(endpoint, chat("openai/gpt-4o-mini")).ok()
    assert out.text() == "The answer is 4."
    assert out.usage.reported_cost_usd == Decimal("0.0000057")
    assert out.usage.input_tokens == 14
    assert out.usage.output_tokens == 6


def test_openrouter_keepalive_comments_before_the_answer_are_ignored() -> None:
    with FakeOpenAIServer(
        report_cost=0.0123, keepalive_comments=3, delay=0.03, usage_in_stream="always"
    ) as server:
        endpoint = endpoint_for(server, usage_in_stream="always")
        out = run_stream(endpoint, chat()).ok()
    assert out.text() == DEFAULT_ANSWER
    assert out.usage.reported_cost_usd == Decimal("0.0123")
    assert out.usage.input_tokens == PROMPT_TOKENS
    server.assert_no_errors()


def test_cost_is_exact_decimal_not_float(server: FakeOpenAIServer) -> None:
    server.report_cost = True  # prompt * 1e-6 + completion * 2e-6
    out = run_stream(endpoint_for(server), chat()).ok()
    expected = Decimal(str(round(PROMPT_TOKENS * 1e-6 + ANSWER_TOKENS * 2e-6, 12)))
    assert out.usage.reported_cost_usd == expected
    assert isinstance(out.usage.reported_cost_usd, Decimal)


def test_deepseek_prompt_cache_hit_tokens(server: FakeOpenAIServer) -> None:
    server.script(
        SseEvents(
            [
                {"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": None}]},
                {
                    "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "stop"}],
                    "usage": {
                        "prompt_tokens": 1542,
                        "completion_tokens": 30,
                        "total_tokens": 1572,
                        "prompt_cache_hit_tokens": 1280,
                        "prompt_cache_miss_tokens": 262,
                        "completion_tokens_details": {"reasoning_tokens": 29},
                    },
                },
            ]
        )
    )
    out = run_stream(endpoint_for(server), chat("deepseek-reasoner")).ok()
    assert out.usage == Usage(
        input_tokens=1542, output_tokens=30, reasoning_tokens=29, cached_tokens=1280
    )


def test_openrouter_cache_write_tokens(server: FakeOpenAIServer) -> None:
    usage = load_fixture_json("gpt-4o-mini_chat_completion.json")["usage"]
    usage["prompt_tokens_details"]["cache_write_tokens"] = 100
    server.script(
        SseEvents(
            [
                {"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]},
                {"choices": [], "usage": usage},
            ]
        )
    )
    out = run_stream(endpoint_for(server), chat()).ok()
    assert out.usage.cache_write_tokens == 100
    assert out.usage.cached_tokens == 1280


def test_null_and_odd_fields_in_chunks_are_tolerated(server: FakeOpenAIServer) -> None:
    server.script(
        SseEvents(
            [
                {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]},
                {"choices": [{"delta": {"content": "no index"}, "finish_reason": None}]},
                {"choices": None, "usage": None},
                {"choices": [{"index": 0, "delta": None}]},
                {"choices": [{"index": 0, "delta": {"content": "!"}, "finish_reason": "stop"}]},
                {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": None}},
            ]
        )
    )
    out = run_stream(endpoint_for(server), chat()).ok()
    assert out.text() == "no index!"
    assert out.usage == Usage(input_tokens=3, output_tokens=0)


# -- lifecycle --------------------------------------------------------------------------


def test_consumer_can_stop_early_and_reuse_the_provider(server: FakeOpenAIServer) -> None:
    server.chunk_delay = 0.02

    async def run() -> tuple[list[str], str]:
        provider = OpenAIChatProvider(endpoint_for(server), make_client(QUICK), FAST)
        try:
            first: list[str] = []
            stream = provider.stream(chat())
            async for event in stream:
                if isinstance(event, TextDelta):
                    first.append(event.text)
                    break
            await stream.aclose()  # type: ignore[attr-defined]
            second = "".join(
                [e.text async for e in provider.stream(chat()) if isinstance(e, TextDelta)]
            )
            return first, second
        finally:
            await provider.aclose()

    first, second = asyncio.run(run())
    assert first == ["The"]
    assert second == DEFAULT_ANSWER
    assert len(server.chat_requests) == 2


def test_concurrent_streams_share_one_provider(server: FakeOpenAIServer) -> None:
    server.delay = 0.2
    server.answer = lambda body, i: body["messages"][-1]["content"]

    async def run() -> list[str]:
        provider = OpenAIChatProvider(endpoint_for(server), make_client(QUICK), FAST)
        try:

            async def one(k: int) -> str:
                request = chat(messages=(Message("user", f"sample {k}"),))
                return "".join(
                    [e.text async for e in provider.stream(request) if isinstance(e, TextDelta)]
                )

            return await asyncio.gather(*(one(k) for k in range(4)))
        finally:
            await provider.aclose()

    assert asyncio.run(run()) == [f"sample {k}" for k in range(4)]
    assert server.max_in_flight == 4


def test_generate_override_is_used_per_request(server: FakeOpenAIServer) -> None:
    server.script(Generate(answer="first"), Generate(answer="second"))
    endpoint = endpoint_for(server)
    assert run_stream(endpoint, chat()).ok().text() == "first"
    assert run_stream(endpoint, chat()).ok().text() == "second"
    assert run_stream(endpoint, chat()).ok().text() == DEFAULT_ANSWER


def test_server_that_ignores_stream_true_is_read_as_json(server: FakeOpenAIServer) -> None:
    server.script(Fixture("gpt-4o-mini_chat_completion.json"))
    out = run_stream(endpoint_for(server), chat()).ok()
    assert server.last_request.json["stream"] is True
    assert out.text() == "The answer is 4."
    assert out.usage.input_tokens == 1542
