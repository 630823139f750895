"""OpenAI models that only the Responses API serves, against the loopback fake speaking
``POST /v1/responses``: request shape, streamed text and reasoning summaries, usage from the
terminal event, errors in the stream and as statuses, cut streams, retries; then through the
CLI with the cost in the ledger."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import calls, run_cli, runs, use_server
from tests.fakes.behaviours import CutStream, ErrorInStream, Fixture, Generate
from tests.fakes.openai_responses_server import FakeOpenAIResponsesServer
from tests.fakes.openai_server import rate_limited, server_error
from tests.provider_support import FAST, MESSAGES, QUICK, Outcome, call
from think.errors import ExitCode
from think.providers.base import ChatRequest
from think.providers.endpoint import Endpoint
from think.providers.openai_chat import OpenAIChatProvider
from think.providers.presets import PRESETS
from think.usage import Usage


@pytest.fixture
def server() -> Iterator[FakeOpenAIResponsesServer]:
    with FakeOpenAIResponsesServer() as srv:
        yield srv
    srv.assert_no_errors()


def endpoint_for(server: FakeOpenAIResponsesServer) -> Endpoint:
    return dataclasses.replace(PRESETS["openai"], base_url=server.base_url, api_key="sk-test-1")


def request(model: str = "o3-pro", **changes: Any) -> ChatRequest:
    base = ChatRequest(model=model, messages=MESSAGES, max_tokens=2048, effort="high")
    return dataclasses.replace(base, **changes)


def run(server: FakeOpenAIResponsesServer, req: ChatRequest) -> Outcome:
    return call(OpenAIChatProvider, endpoint_for(server), req, FAST, QUICK)


@pytest.mark.parametrize(
    ("model", "responses"),
    [
        ("o3-pro", True),
        ("o1-pro", True),
        ("gpt-5-pro", True),
        ("o4-mini-deep-research", True),
        ("o4-mini", False),
        ("gpt-4.1-mini", False),
        ("gpt-5", False),
    ],
)
def test_only_models_that_need_it_use_the_responses_api(model: str, responses: bool) -> None:
    provider = OpenAIChatProvider(PRESETS["openai"], None, FAST)  # type: ignore[arg-type]
    assert provider.uses_responses(model) is responses
    assert provider.url(request(model)).endswith("/responses" if responses else "/completions")
    assert provider.capabilities(model).supports_n is not responses


def test_request_shape(server: FakeOpenAIResponsesServer) -> None:
    out = run(server, request(temperature=0.7)).ok()
    (sent,) = server.responses_requests
    body = sent.json
    assert sent.headers["authorization"] == "Bearer sk-test-1"
    assert body["model"] == "o3-pro"
    assert body["instructions"] == "Be brief."
    assert body["input"] == [{"role": "user", "content": "What is 2 + 2?"}]
    assert body["max_output_tokens"] == 2048
    assert body["reasoning"] == {"summary": "auto", "effort": "high"}
    assert body["stream"] is True
    assert body["store"] is False
    for absent in ("messages", "n", "temperature", "max_completion_tokens", "stream_options"):
        assert absent not in body
    assert out.text() == "The answer is 4."
    assert out.reasoning() == "The user asks for 2 + 2. Two plus two is four."
    assert out.finishes == {0: "stop"}


def test_recorded_stream_gives_text_summary_and_usage(server: FakeOpenAIResponsesServer) -> None:
    server.script(Fixture("o3-pro_responses_stream.sse"))
    out = run(server, request()).ok()
    assert out.text() == "17 × 23 = 391 (340 + 51).\n\nThe answer is 391."
    assert out.reasoning().startswith("**Multiplying 17 by 23**\n\nI split 23")
    assert out.usage == Usage(
        input_tokens=38, output_tokens=612, reasoning_tokens=576, cached_tokens=0
    )
    kinds = [type(e).__name__ for e in out.events]
    assert kinds.index("ReasoningDelta") < kinds.index("TextDelta")
    assert kinds[-2:] == ["UsageReported", "ChoiceFinished"]


def test_whole_response_without_streaming(server: FakeOpenAIResponsesServer) -> None:
    endpoint = dataclasses.replace(endpoint_for(server), stream=False)
    out = call(OpenAIChatProvider, endpoint, request(), FAST, QUICK).ok()
    assert "stream" not in server.last_request.json
    assert out.text() == "The answer is 4."
    assert out.reasoning() == "The user asks for 2 + 2. Two plus two is four."
    assert out.usage.reasoning_tokens > 0
    assert out.usage.output_tokens > out.usage.reasoning_tokens


def test_error_event_in_the_stream(server: FakeOpenAIResponsesServer) -> None:
    server.script(ErrorInStream(after_events=2))
    out = run(server, request())
    assert out.error is not None
    assert "error in stream" in str(out.error)
    assert "The server had an error" in str(out.error)


def test_429_then_success_and_500_then_success(server: FakeOpenAIResponsesServer) -> None:
    server.script(rate_limited(retry_after="0"), server_error(), Generate())
    out = run(server, request()).ok()
    assert out.attempts == 3
    assert out.text() == "The answer is 4."


def test_cut_stream_is_a_clear_error_with_no_usage(server: FakeOpenAIResponsesServer) -> None:
    server.script(CutStream(after_events=3))
    out = run(server, request())
    assert out.error is not None
    assert "cut off" in str(out.error) or "ended before" in str(out.error)
    assert out.usages == []


def test_n_is_never_sent_the_strategy_sends_concurrent_requests(
    server: FakeOpenAIResponsesServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_server(monkeypatch, server)
    result = run_cli(
        ["-s", "vote", "-n", "3", "-m", "openai:o3-pro", "--json", "2+2?"], capsys, monkeypatch
    )
    assert result.code == ExitCode.OK, result.err
    assert len(server.responses_requests) == 3
    assert all("n" not in r.json for r in server.responses_requests)
    (run_row,) = runs(ledger_path)
    rows = calls(ledger_path, run_row["id"])
    assert len(rows) == 3
    assert all(r["reasoning"] == "The user asks for 2 + 2. Two plus two is four." for r in rows)
    assert all(r["cost_source"] == "computed" and r["cost_usd"] > 0 for r in rows)
    assert "Two plus two" not in result.out
