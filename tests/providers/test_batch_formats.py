"""The recorded batch payloads (``tests/fixtures/openai/batch_*``,
``tests/fixtures/anthropic/message_batch_*``) read by the batch API modules: job states,
result lines of every kind, usage through the protocols' own usage parsers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.paths import FIXTURES
from tests.provider_support import FAST, QUICK, preset
from think.providers.anthropic_batches import AnthropicBatches
from think.providers.base import TextDelta, UsageReported
from think.providers.batch_jobs import RawItem
from think.providers.http import make_client
from think.providers.openai_batches import OpenAIBatches

KEY = "sk-test-batch-0123456789abcdef"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def lines(name: str) -> list[dict[str, Any]]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def openai() -> Iterator[OpenAIBatches]:
    api = OpenAIBatches(preset("openai", "http://127.0.0.1:9/v1", KEY), make_client(QUICK), FAST)
    yield api
    asyncio.run(api.aclose())


@pytest.fixture
def anthropic() -> Iterator[AnthropicBatches]:
    api = AnthropicBatches(preset("anthropic", "http://127.0.0.1:9", KEY), make_client(QUICK), FAST)
    yield api
    asyncio.run(api.aclose())


def text(item: RawItem) -> str:
    return "".join(e.text for e in item.events if isinstance(e, TextDelta))


def usage(item: RawItem) -> tuple[int, int]:
    (reported,) = [e.usage for e in item.events if isinstance(e, UsageReported)]
    return reported.input_tokens, reported.output_tokens


def test_openai_batch_states(openai: OpenAIBatches) -> None:
    running = openai.read_job(fixture("openai/batch_in_progress.json"))
    assert (running.status, running.ended, running.outcome) == ("in_progress", False, None)
    assert (running.counts.total, running.counts.succeeded, running.counts.processing) == (4, 1, 3)
    expired = openai.read_job(fixture("openai/batch_expired.json"))
    assert (expired.ended, expired.outcome) == (True, "expired")
    assert expired.output_file_id == "file-Rk8sT1uVw2XyZ3aB4cD5eF"
    assert expired.error_file_id == "file-Gh6iJ7kL8mN9oP0qR1sT2u"
    assert expired.expires_at == "2025-12-04T14:00:01+00:00"
    failed = openai.read_job(fixture("openai/batch_failed_validation.json"))
    assert failed.outcome == "failed"
    assert failed.errors == ("invalid_json: This line is not parseable as valid JSON. (line 3)",)


def test_openai_result_lines(openai: OpenAIBatches) -> None:
    out = {i.custom_id: i for i in map(openai.read_item, lines("openai/batch_output.jsonl"))}
    assert text(out["q-01"]) == "Paris."
    assert usage(out["q-00"]) == (22, 16)
    assert out["q-00"].model == "gpt-4o-mini-2024-07-18"
    errors = {i.custom_id: i for i in map(openai.read_item, lines("openai/batch_errors.jsonl"))}
    assert errors["q-02"].status == "errored"
    assert errors["q-02"].status_code == 400
    assert "maximum context length is 128000 tokens" in (errors["q-02"].error or "")
    assert errors["q-03"].status == "expired"
    assert (errors["q-03"].error or "").startswith("batch_expired: This request could not")


def test_anthropic_batch_states(anthropic: AnthropicBatches) -> None:
    running = anthropic.read_job(fixture("anthropic/message_batch_in_progress.json"))
    assert (running.ended, running.counts.total, running.counts.processing) == (False, 4, 4)
    ended = anthropic.read_job(fixture("anthropic/message_batch_ended.json"))
    assert (ended.ended, ended.outcome) == (True, "expired")
    assert (ended.counts.succeeded, ended.counts.errored, ended.counts.expired) == (1, 1, 2)
    assert ended.results_url is not None
    assert ended.results_url.endswith("/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF/results")


def test_anthropic_result_lines(anthropic: AnthropicBatches) -> None:
    found = lines("anthropic/message_batch_results.jsonl")
    items = {i.custom_id: i for i in map(anthropic.read_item, found)}
    assert text(items["q-00"]) == "2 + 2 = 4."
    assert usage(items["q-00"]) == (18, 12)
    assert items["q-01"].status == "errored"
    assert (items["q-01"].error or "").startswith("invalid_request_error: max_tokens: 200000")
    assert [items[c].status for c in ("q-02", "q-03")] == ["expired", "expired"]


@pytest.mark.parametrize(
    "line",
    [
        {"custom_id": "x", "result": {"type": "succeeded", "message": "not an object"}},
        {"custom_id": "x", "result": {"type": "surprise"}},
        {"custom_id": "x", "result": {"type": "succeeded", "message": {"content": 7}}},
    ],
)
def test_an_unreadable_anthropic_line_is_an_errored_item(
    anthropic: AnthropicBatches, line: dict[str, Any]
) -> None:
    item = anthropic.read_item(line)
    assert (item.custom_id, item.status) == ("x", "errored")
    assert item.error


@pytest.mark.parametrize(
    "line",
    [
        {"custom_id": "x", "response": {"status_code": 200, "body": {"choices": "no"}}},
        {"custom_id": "x", "response": None, "error": None},
        {"custom_id": "x", "response": {"status_code": "abc"}},
    ],
)
def test_an_unreadable_openai_line_is_an_errored_item(
    openai: OpenAIBatches, line: dict[str, Any]
) -> None:
    item = openai.read_item(line)
    assert (item.custom_id, item.status) == ("x", "errored")
    assert item.error
