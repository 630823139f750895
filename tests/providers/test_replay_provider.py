"""The replay provider serves recorded answers in order, through the provider contract."""

from __future__ import annotations

import asyncio
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.paths import GSM8K
from think.cli.wiring import provider_catalog
from think.config.settings import load_settings
from think.errors import ConfigError, ProviderError
from think.providers.base import ChatRequest, Message, StreamEvent, TextDelta, UsageReported

RECORD = {
    "id": "t/0",
    "question": "What is 2+2?",
    "gold": "4",
    "answer_kind": "number",
    "responses": {
        "cheap": [
            {
                "style": "COT",
                "text": "The answer is 4.",
                "usage": {"input_tokens": 10, "output_tokens": 5, "cost_usd": 0.0001},
            },
            {
                "style": "PoT",
                "text": "The answer is 5.",
                "usage": {"input_tokens": 10, "output_tokens": 6, "cost_usd": 0.0002},
            },
        ]
    },
}


@pytest.fixture
def replay_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(RECORD) + "\n")
    monkeypatch.setenv("THINK_REPLAY_FILE", str(path))
    return path


def ask(provider: object, content: str, model: str = "cheap") -> list[StreamEvent]:
    request = ChatRequest(model=model, messages=(Message("user", content),), max_tokens=100)

    async def collect() -> list[StreamEvent]:
        return [event async for event in provider.stream(request)]  # type: ignore[attr-defined]

    return asyncio.run(collect())


def test_answers_in_recorded_order_then_refuses(replay_file: Path) -> None:
    provider = provider_catalog(load_settings()).create("replay")
    first = ask(provider, "What is 2+2?")
    second = ask(provider, "Solve step by step.\n\nWhat is 2+2?")
    texts = [e.text for e in first + second if isinstance(e, TextDelta)]
    assert texts == ["The answer is 4.", "The answer is 5."]
    usage = next(e.usage for e in first if isinstance(e, UsageReported))
    assert (usage.input_tokens, usage.output_tokens) == (10, 5)
    assert usage.reported_cost_usd == Decimal("0.0001")
    with pytest.raises(ProviderError, match="only 2 recorded answers"):
        ask(provider, "What is 2+2?")


def test_unknown_question_and_model_are_errors(replay_file: Path) -> None:
    provider = provider_catalog(load_settings()).create("replay")
    with pytest.raises(ProviderError, match="no recorded question"):
        ask(provider, "What is 3+3?")
    with pytest.raises(ProviderError, match="no recorded answers"):
        ask(provider, "What is 2+2?", model="strong")


def test_missing_file_setting_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="THINK_REPLAY_FILE"):
        provider_catalog(load_settings()).create("replay")


def test_real_gsm8k_file_replays_through_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = GSM8K
    if not path.exists():
        pytest.skip("../shared/replay/gsm8k.jsonl is absent")
    from think.cli.app import run

    with path.open(encoding="utf-8") as handle:
        question = json.loads(handle.readline())["question"]
    monkeypatch.setenv("THINK_REPLAY_FILE", str(path))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert run(["-m", "replay:gpt-4", "--json", question]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "18" in document["answer"]
    assert document["cost_source"] == "reported"
    assert document["cost_usd"] > 0
