"""Service tiers end to end through the CLI and the loopback OpenAI server: what is asked,
what the fake says it served, what that is priced at and recorded, the flex fallback, the
ledger's view and the dry run's plan."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cascade_cli import answers
from tests.cli_support import assert_one_error_line, calls, fast_retries, run_cli, runs, use_server
from tests.fakes.openai_server import FakeOpenAIServer
from think.errors import ExitCode

FLEX_MODEL = "openai:gpt-5-mini"
"""A model OpenAI serves on flex, with flex prices in genai-prices."""
NO_FLEX_PRICE = "openai:gpt-4o-mini"
"""A model genai-prices has no flex price for."""
STRONG = "openai:o4-mini"


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    fast_retries(monkeypatch)
    return fake_openai


def rates(model: str, tier: str | None) -> tuple[Decimal, Decimal]:
    """(input, output) USD per million tokens, read from genai-prices itself (the oracle)."""
    from genai_prices import data_snapshot

    _, info = data_snapshot.get_snapshot().find_provider_model(model, None, "openai", None)
    context = {"service_tier": tier} if tier else None
    prices = info.get_prices(datetime.now(tz=UTC), context)
    assert isinstance(prices.input_mtok, Decimal)
    assert isinstance(prices.output_mtok, Decimal)
    return prices.input_mtok, prices.output_mtok


def cost_at(call: dict[str, Any], model: str, tier: str | None) -> float:
    in_rate, out_rate = rates(model, tier)
    usd = (call["input_tokens"] * in_rate + call["output_tokens"] * out_rate) / 1_000_000
    return float(usd)


def tiers_sent(server: FakeOpenAIServer) -> list[tuple[str, Any]]:
    return [(r.json["model"], r.json.get("service_tier")) for r in server.chat_requests]


def test_cheap_samples_on_flex_are_priced_at_the_tier_served(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("THINK_CHEAP_TIER", "flex")
    monkeypatch.setenv("THINK_STRONG_TIER", "standard")
    server.script(*[answers(["4", "5"], "4")] * 10)
    argv = ["--cheap", FLEX_MODEL, "--strong", STRONG, "--json", "what is 2+2?"]
    result = run_cli(argv, capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    sent = tiers_sent(server)
    assert {tier for model, tier in sent if model == "gpt-5-mini"} == {"flex"}
    assert [tier for model, tier in sent if model == "o4-mini"] == ["default"]
    recorded = calls(ledger_path)
    cheap = [c for c in recorded if c["stage"] == "cheap"]
    strong = [c for c in recorded if c["stage"] == "escalate"]
    assert cheap
    assert strong
    for call in cheap:
        assert (call["requested_tier"], call["served_tier"]) == ("flex", "flex")
        assert call["cost_usd"] == pytest.approx(cost_at(call, "gpt-5-mini", "flex"))
        assert call["cost_usd"] < cost_at(call, "gpt-5-mini", None)  # half the standard price
    for call in strong:
        assert (call["requested_tier"], call["served_tier"]) == ("standard", "standard")
        assert call["cost_usd"] == pytest.approx(cost_at(call, "o4-mini", None))
    per_call = result.json["per_call"]
    assert [(c["stage"], c["requested_tier"], c["served_tier"]) for c in per_call] == [
        (c["stage"], c["requested_tier"], c["served_tier"]) for c in recorded
    ]
    assert result.json["cost_usd"] == pytest.approx(sum(c["cost_usd"] for c in recorded))


def test_standard_served_for_flex_is_priced_at_standard(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.served_tier = "default"  # flex asked, standard served (and billed)
    result = run_cli(["-m", FLEX_MODEL, "--tier", "flex", "--json", "2+2?"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    assert tiers_sent(server) == [("gpt-5-mini", "flex")]
    (call,) = calls(ledger_path)
    assert (call["requested_tier"], call["served_tier"]) == ("flex", "standard")
    assert call["cost_usd"] == pytest.approx(cost_at(call, "gpt-5-mini", None))
    assert result.json["per_call"][0]["served_tier"] == "standard"


def test_flex_refused_falls_back_to_standard_when_allowed(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.flex_unavailable = True
    argv = ["-m", FLEX_MODEL, "--tier", "flex,standard", "--max-cost", "0.05", "2+2?"]
    result = run_cli(argv, capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    assert result.out == "The answer is 4.\n"
    # the refusal is not retried at flex: standard takes the request at once
    assert tiers_sent(server) == [("gpt-5-mini", "flex"), ("gpt-5-mini", "default")]
    refused, answered = calls(ledger_path)
    assert (refused["status"], refused["requested_tier"], refused["served_tier"]) == (
        "error",
        "flex",
        None,
    )
    assert refused["cost_usd"] == 0  # flex refusals are not billed
    assert "Resource Unavailable" in refused["error"]
    assert (answered["status"], answered["requested_tier"], answered["served_tier"]) == (
        "ok",
        "standard",
        "standard",
    )
    (run,) = runs(ledger_path)
    assert run["calls"] == 2
    assert run["cost_usd"] == pytest.approx(answered["cost_usd"])
    assert run["cost_usd"] <= 0.05


def test_flex_refused_without_a_fallback_is_a_provider_error(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.flex_unavailable = True
    result = run_cli(["-m", FLEX_MODEL, "--tier", "flex", "2+2?"], capsys, monkeypatch)
    assert result.code == ExitCode.PROVIDER
    assert_one_error_line(result.err, "--tier flex,standard falls back to standard")
    # retried within the retry bound (THINK_MAX_RETRIES=1), never at standard
    assert tiers_sent(server) == [("gpt-5-mini", "flex")] * 2
    (call,) = calls(ledger_path)
    assert (call["status"], call["requested_tier"], call["cost_usd"]) == ("error", "flex", 0)


def test_a_served_tier_without_a_price_is_priced_at_standard_and_said(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(["-m", NO_FLEX_PRICE, "--tier", "flex", "2+2?"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    assert result.err.count("\n") == 1
    assert "served at the flex tier, whose price is unknown: priced at standard" in result.err
    (call,) = calls(ledger_path)
    assert call["served_tier"] == "flex"
    assert call["cost_usd"] == pytest.approx(cost_at(call, "gpt-4o-mini", None))


def test_a_configured_tier_price_wins(
    server: FakeOpenAIServer,
    ledger_path: Path,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path.write_text(
        f'[prices."{NO_FLEX_PRICE}@flex"]\ninput_mtok = 0.01\noutput_mtok = 0.02\n',
        encoding="utf-8",
    )
    result = run_cli(["-m", NO_FLEX_PRICE, "--tier", "flex", "2+2?"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    assert result.err == ""
    (call,) = calls(ledger_path)
    expected = (call["input_tokens"] * 0.01 + call["output_tokens"] * 0.02) / 1_000_000
    assert call["cost_usd"] == pytest.approx(expected)


def test_the_ledger_shows_asked_and_served_tiers(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.served_tier = "default"
    assert run_cli(["-m", FLEX_MODEL, "--tier", "flex", "hi"], capsys, monkeypatch).code == 0
    (run,) = runs(ledger_path)
    shown = run_cli(["ledger", "show", run["id"]], capsys, monkeypatch)
    assert shown.code == ExitCode.OK, shown.err
    assert "tier" in shown.out
    assert "standard (asked flex)" in shown.out
    as_json = run_cli(["ledger", "show", run["id"], "--json"], capsys, monkeypatch).json
    assert as_json["calls"][0]["requested_tier"] == "flex"
    assert as_json["calls"][0]["served_tier"] == "standard"


def test_the_dry_run_plans_at_the_tier_and_reserves_at_standard(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    plain = run_cli(["-m", FLEX_MODEL, "--dry-run", "--json", "2+2?"], capsys, monkeypatch).json
    flex = run_cli(
        ["-m", FLEX_MODEL, "--tier", "flex", "--dry-run", "--json", "2+2?"], capsys, monkeypatch
    ).json
    (standard_step,) = plain["steps"]
    (flex_step,) = flex["steps"]
    assert (standard_step["tier"], flex_step["tier"]) == (None, "flex")
    # worst case: the standard price (flex may be served at standard); expected: flex's
    assert flex_step["worst_usd"] == standard_step["worst_usd"]
    assert flex_step["expected_usd"] == pytest.approx(standard_step["expected_usd"] / 2, rel=0.01)
    table = run_cli(["-m", FLEX_MODEL, "--tier", "flex", "--dry-run", "2+2?"], capsys, monkeypatch)
    assert "tier" in table.out
    assert "flex" in table.out


def test_a_tier_the_provider_lacks_is_a_usage_error_before_anything_is_sent(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    argv = ["-m", "anthropic:claude-haiku-4-5", "--tier", "flex", "hi"]
    result = run_cli(argv, capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "anthropic has no flex tier (its tiers: standard, priority)")
    assert not ledger_path.exists() or runs(ledger_path) == []


@pytest.mark.parametrize("value", ["cheap", "flex,flex", "flex,"])
def test_a_bad_tier_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    result = run_cli(["-m", FLEX_MODEL, "--tier", value, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "tier")


def test_think_batch_prices_flex_at_the_tier_served(
    server: FakeOpenAIServer,
    ledger_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``think batch --mode now`` runs its prompts through the same call layer as a query:
    flex served is flex priced (it used to be priced at standard there)."""
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('"2+2?"\n"3+3?"\n', encoding="utf-8")
    argv = ["batch", str(prompts), "-m", FLEX_MODEL, "--tier", "flex"]
    result = run_cli(argv, capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    recorded = calls(ledger_path)
    assert len(recorded) == 2
    for call in recorded:
        assert call["served_tier"] == "flex"
        assert call["cost_usd"] == pytest.approx(cost_at(call, "gpt-5-mini", "flex"))
        assert call["cost_usd"] < cost_at(call, "gpt-5-mini", None)
