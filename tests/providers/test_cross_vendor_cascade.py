"""A cascade across vendors, end to end through the CLI: cheap samples from Gemini disagree,
the run escalates to Claude with ``--effort high``, every call is recorded in the ledger at
the price genai-prices gives the recorded usage, and no thinking text reaches stdout.

The expected costs are genai-prices' own: its ``extract_usage`` reads each fixture's raw usage
object with its Anthropic / Google extractors and ``calc_price`` prices it; think's parsing and
pricing are not involved."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from genai_prices import calc_price, extract_usage

from tests.cli_support import calls, run_cli, run_think, runs
from tests.fakes.anthropic_server import FakeAnthropicServer, claude_usage, stream_payloads
from tests.fakes.behaviours import Fixture, parse_sse
from tests.fakes.gemini_server import FakeGeminiServer
from think.errors import ExitCode

CHEAP = "gemini:gemini-2.5-flash"
STRONG = "anthropic:claude-sonnet-4-5"
PROMPT = "What is 17 × 23?"
GEMINI_RIGHT = "gemini-2.5-flash_stream_thinking.sse"  # answers 391, with thought summaries
GEMINI_WRONG = "gemini-2.5-flash-lite_stream_cached.sse"  # answers 4
CLAUDE = "claude-sonnet-4-5_stream_thinking.sse"
ARGS = ["--cheap", CHEAP, "--strong", STRONG, "--effort", "high", "--max-cost", "0.50", PROMPT]


def gemini_usage(fixture: str) -> dict[str, Any]:
    """The last chunk's ``usageMetadata`` of a recorded Gemini stream."""
    path = FakeGeminiServer.fixture_path(fixture)
    chunks = [json.loads(p) for p in parse_sse(path.read_text(encoding="utf-8"))]
    usage = chunks[-1]["usageMetadata"]
    assert isinstance(usage, dict)
    return usage


def expected_cost(provider_id: str, model: str, response: dict[str, Any]) -> Decimal:
    """genai-prices' own reading of the provider's usage object, at its own prices."""
    extracted = extract_usage(response, provider_id=provider_id)
    total = calc_price(extracted.usage, model, provider_id=provider_id).total_price
    assert isinstance(total, Decimal)
    return total


GEMINI_COST = {
    fixture: expected_cost(
        "google",
        "gemini-2.5-flash",
        {"modelVersion": "gemini-2.5-flash", "usageMetadata": gemini_usage(fixture)},
    )
    for fixture in (GEMINI_RIGHT, GEMINI_WRONG)
}
CLAUDE_COST = expected_cost(
    "anthropic",
    "claude-sonnet-4-5",
    {"model": "claude-sonnet-4-5", "usage": claude_usage(CLAUDE)},
)


def thinking_texts() -> list[str]:
    """Every piece of thinking the two vendors stream in the fixtures."""
    texts = []
    for payload in parse_sse(FakeGeminiServer.fixture_path(GEMINI_RIGHT).read_text()):
        for part in json.loads(payload)["candidates"][0]["content"]["parts"]:
            if part.get("thought"):
                texts.append(part["text"])
    for name, data in stream_payloads(FakeAnthropicServer.fixture_path(CLAUDE).read_text()):
        if name == "content_block_delta" and data["delta"].get("thinking"):
            texts.append(data["delta"]["thinking"])
    assert len(texts) == 5
    return texts


@pytest.fixture
def vendors(
    fake_gemini: FakeGeminiServer,
    fake_anthropic: FakeAnthropicServer,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[FakeGeminiServer, FakeAnthropicServer]:
    monkeypatch.setenv("GEMINI_BASE_URL", fake_gemini.base_url)
    monkeypatch.setenv("GEMINI_API_KEY", "AIzaSyCascade-0123456789abcdefghijklm")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-cascade-0123456789")
    fake_gemini.script(*(Fixture(f) for f in (GEMINI_RIGHT, GEMINI_WRONG)))
    fake_anthropic.script(Fixture(CLAUDE))
    return fake_gemini, fake_anthropic


def test_gemini_disagrees_claude_thinks_the_ledger_prices_every_call(
    vendors: tuple[FakeGeminiServer, FakeAnthropicServer],
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gemini, anthropic = vendors
    result = run_cli(ARGS, capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    assert result.out == "17 × 23 = 391 (340 + 51).\n\nThe answer is 391.\n"
    for thought in thinking_texts():
        assert thought.strip() not in result.out

    # What was sent: cheap samples without thinking, the strong call with a 4096-token
    # thinking budget inside an 8192-token limit (1024 x 8 for high effort), no temperature.
    assert len(gemini.generate_requests) == 2
    for request in gemini.generate_requests:
        config = request.json["generationConfig"]
        assert config["thinkingConfig"] == {"thinkingBudget": 0}
        assert config["maxOutputTokens"] == 1024
        assert request.json["contents"][-1]["parts"][0]["text"] == PROMPT
    (strong,) = anthropic.message_requests
    assert strong.json["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert strong.json["max_tokens"] == 8192
    assert "temperature" not in strong.json
    assert "The answer is" in strong.json["system"]

    (run,) = runs(ledger_path)
    assert (run["status"], run["escalated"], run["final_answer"]) == ("ok", 1, "391")
    assert run["escalation_reason"] == "disagreement: 1/2 agree (needs 2 of 2, then 3 of 5)"
    rows = calls(ledger_path, run["id"])
    assert [(r["stage"], r["provider"], r["model"]) for r in rows] == [
        *[("cheap", "gemini", "gemini-2.5-flash")] * 2,
        ("escalate", "anthropic", "claude-sonnet-4-5"),
    ]
    for row in rows[:2]:
        fixture = GEMINI_RIGHT if "391" in row["text"] else GEMINI_WRONG
        usage = gemini_usage(fixture)
        assert row["input_tokens"] == usage["promptTokenCount"]
        assert row["output_tokens"] == usage["candidatesTokenCount"] + usage.get(
            "thoughtsTokenCount", 0
        )
        assert row["cached_tokens"] == usage.get("cachedContentTokenCount", 0)
        assert (row["usage_source"], row["cost_source"]) == ("reported", "computed")
        assert row["cost_usd"] == float(GEMINI_COST[fixture])
    assert sorted("391" in r["text"] for r in rows[:2]) == [False, True]
    claude = rows[2]
    assert (claude["input_tokens"], claude["output_tokens"], claude["reasoning_tokens"]) == (
        41,
        187,
        164,
    )
    assert claude["finish_reason"] == "end_turn"
    assert claude["cost_usd"] == float(CLAUDE_COST)
    total = sum(GEMINI_COST[f] for f in (GEMINI_RIGHT, GEMINI_WRONG)) + CLAUDE_COST
    assert run["cost_usd"] == float(total)
    # The thinking is kept in the ledger, never printed.
    assert claude["reasoning"].startswith("The user wants 17 × 23.")


def test_json_output_as_a_subprocess_has_no_thinking(
    vendors: tuple[FakeGeminiServer, FakeAnthropicServer], ledger_path: Path
) -> None:
    result = run_think(["--json", *ARGS])
    assert result.code == ExitCode.OK, result.err
    document = result.json
    assert document["answer"] == "17 × 23 = 391 (340 + 51).\n\nThe answer is 391."
    assert document["escalated"] is True
    assert document["answer_model"] == STRONG
    for thought in thinking_texts():
        assert thought.strip() not in result.out
    (run,) = runs(ledger_path)
    assert run["cost_usd"] == float(sum(GEMINI_COST.values()) + CLAUDE_COST)
