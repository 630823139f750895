"""Service tiers on the wire, per protocol: the request field each sends for think's tier
names, the tier each reply says served it (:class:`TierServed`), and how a flex refusal is
retried (within the bound; not at all when another tier follows)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.loopback import serving
from tests.fakes.openai_responses_server import FakeOpenAIResponsesServer
from tests.fakes.openai_server import FakeOpenAIServer, flex_unavailable, rate_limited
from tests.provider_support import call, chat, preset
from think.errors import ProviderError
from think.providers.anthropic_messages import AnthropicMessagesProvider
from think.providers.base import TierServed
from think.providers.gemini import GeminiProvider
from think.providers.http_errors import status_error
from think.providers.openai_chat import OpenAIChatProvider
from think.tiers import check_tiers, parse_tiers, served_name


@pytest.fixture
def openai() -> Iterator[FakeOpenAIServer]:
    yield from serving(FakeOpenAIServer())


def served(events: list[object]) -> list[str]:
    return [e.tier for e in events if isinstance(e, TierServed)]


@pytest.mark.parametrize(
    ("tier", "sent"), [("flex", "flex"), ("priority", "priority"), ("standard", "default")]
)
@pytest.mark.parametrize("stream", [True, False])
def test_openai_chat_sends_service_tier_and_reads_the_echo(
    openai: FakeOpenAIServer, tier: str, sent: str, stream: bool
) -> None:
    endpoint = preset("openai", openai.base_url, "sk-test", stream=stream)
    out = call(OpenAIChatProvider, endpoint, chat("gpt-5-mini", service_tier=tier)).ok()
    assert openai.last_request.json["service_tier"] == sent
    assert served(out.events) == [served_name(sent)]  # said once, though every chunk says it


def test_openai_chat_sends_no_tier_unasked_nor_to_an_endpoint_without_tiers(
    openai: FakeOpenAIServer,
) -> None:
    call(OpenAIChatProvider, preset("openai", openai.base_url, "sk-test"), chat("gpt-5-mini")).ok()
    assert "service_tier" not in openai.last_request.json
    vllm = preset("vllm", openai.base_url, None)
    call(OpenAIChatProvider, vllm, chat("qwen", service_tier="standard")).ok()
    assert "service_tier" not in openai.last_request.json


def test_the_served_tier_is_the_echo_not_the_request(openai: FakeOpenAIServer) -> None:
    openai.served_tier = "default"
    endpoint = preset("openai", openai.base_url, "sk-test")
    out = call(OpenAIChatProvider, endpoint, chat("gpt-5-mini", service_tier="flex")).ok()
    assert served(out.events) == ["standard"]


@pytest.mark.parametrize("stream", [True, False])
def test_openai_responses_sends_and_reads_service_tier(stream: bool) -> None:
    with FakeOpenAIResponsesServer() as server:
        endpoint = preset("openai", server.base_url, "sk-test", stream=stream)
        out = call(OpenAIChatProvider, endpoint, chat("o3-pro", service_tier="flex")).ok()
        assert server.responses_requests[-1].json["service_tier"] == "flex"
        assert served(out.events) == ["flex"]


@pytest.mark.parametrize(("tier", "sent"), [("standard", "standard_only"), ("priority", "auto")])
@pytest.mark.parametrize("stream", [True, False])
def test_anthropic_sends_service_tier_and_reads_usage_service_tier(
    tier: str, sent: str, stream: bool
) -> None:
    with FakeAnthropicServer() as server:
        server.served_tier = "priority"
        endpoint = preset("anthropic", server.root_url, "sk-ant-test", stream=stream)
        request = chat("claude-haiku-4-5", service_tier=tier)
        out = call(AnthropicMessagesProvider, endpoint, request).ok()
        assert server.message_requests[-1].json["service_tier"] == sent
        assert served(out.events) == ["priority"]


def test_gemini_sends_service_tier_and_reads_the_tier_header() -> None:
    with FakeGeminiServer() as server:
        server.extra_headers["x-gemini-service-tier"] = "standard"
        endpoint = preset("gemini", server.root_url, "AIza-test")
        out = call(GeminiProvider, endpoint, chat("gemini-3.8-flash", service_tier="flex")).ok()
        assert server.last_request.json["serviceTier"] == "flex"
        assert served(out.events) == ["standard"]


def test_a_flex_refusal_is_retried_within_the_bound_without_a_fallback(
    openai: FakeOpenAIServer,
) -> None:
    openai.script(flex_unavailable(), flex_unavailable(), flex_unavailable())
    endpoint = preset("openai", openai.base_url, "sk-test")
    error = call(OpenAIChatProvider, endpoint, chat("gpt-5-mini", service_tier="flex")).failed()
    assert isinstance(error, ProviderError)
    assert error.tier_unavailable
    assert len(openai.chat_requests) == 3  # FAST: max_retries=2, then it gives up


def test_a_flex_refusal_is_not_retried_when_another_tier_follows(
    openai: FakeOpenAIServer,
) -> None:
    openai.script(flex_unavailable())
    endpoint = preset("openai", openai.base_url, "sk-test")
    request = chat("gpt-5-mini", service_tier="flex", tier_fallback=True)
    error = call(OpenAIChatProvider, endpoint, request).failed()
    assert isinstance(error, ProviderError)
    assert error.tier_unavailable
    assert len(openai.chat_requests) == 1


def test_an_ordinary_rate_limit_is_not_a_tier_refusal(openai: FakeOpenAIServer) -> None:
    openai.script(rate_limited(retry_after="0"))
    endpoint = preset("openai", openai.base_url, "sk-test")
    request = chat("gpt-5-mini", service_tier="flex", tier_fallback=True)
    call(OpenAIChatProvider, endpoint, request).ok()
    assert len(openai.chat_requests) == 2  # retried as any 429 is


def test_a_503_resource_unavailable_is_a_tier_refusal_too() -> None:
    body = b'{"error": {"message": "Resource unavailable", "code": "resource_unavailable"}}'
    assert status_error("openai", 503, {}, body).tier_unavailable
    overloaded = b'{"error": {"message": "That model is currently overloaded"}}'
    assert not status_error("openai", 503, {}, overloaded).tier_unavailable


def test_tier_names_parse_and_check() -> None:
    assert parse_tiers("Flex, standard") == ("flex", "standard")
    assert parse_tiers(None) == ()
    assert served_name("SERVICE_TIER_PRIORITY") == "priority"
    assert served_name("default") == "standard"
    check_tiers("openai", "openai-chat", ("flex", "priority"), ("flex", "standard"), "t")
    check_tiers("vllm", "openai-chat", (), ("standard",), "t")  # standard: nothing sent
