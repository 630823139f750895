"""The cascade end to end through the CLI and the loopback OpenAI server: ``--json``
fields, and what the ledger records of the votes, the agreement and the escalation."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import calls, run_cli, runs, use_server
from tests.fakes.openai_server import CutStream, FakeOpenAIServer, Generate
from think.errors import ExitCode

CHEAP = "openai:gpt-4o-mini"
STRONG = "openai:o4-mini"


def answers(cheap: list[str], strong: str) -> Generate:
    """Cheap choices answer from ``cheap`` in turn; the strong model answers ``strong``."""
    turn = itertools.count()

    def answer(body: dict[str, Any], index: int) -> str:
        if body["model"] == "o4-mini":
            return f"Working carefully, the answer is {strong}."
        return f"The answer is {cheap[next(turn) % len(cheap)]}."

    return Generate(answer=answer)


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


def cascade(
    server: FakeOpenAIServer,
    behaviour: Generate,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *flags: str,
) -> dict[str, Any]:
    server.script(*[behaviour] * 10)
    result = run_cli(
        ["--cheap", CHEAP, "--strong", STRONG, "--json", *flags, "what is 2+2?"],
        capsys,
        monkeypatch,
    )
    assert result.code == ExitCode.OK, result.err
    document: dict[str, Any] = result.json
    return document


def test_escalated_cascade_json_and_ledger(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = cascade(server, answers(["4", "5", "6", "7"], "4"), capsys, monkeypatch)
    assert document["strategy"] == "cascade"
    assert document["escalated"] is True
    assert document["escalation_reason"].startswith("disagreement")
    assert document["stages"] == ["cheap", "check", "escalate"]
    assert document["answer_model"] == STRONG
    assert document["final_answer"] == "4"
    assert sum(document["votes"].values()) >= 2
    assert 0 < document["agreement"] < 0.75
    assert document["cost_usd"] > 0
    assert document["strong_only_cost_usd"] > 0
    strong_request = server.chat_requests[-1].json
    assert strong_request["model"] == "o4-mini"
    assert strong_request["reasoning_effort"] == "medium"
    assert "temperature" not in strong_request

    (run,) = runs(ledger_path)
    assert run["id"] == document["run_id"]
    assert json.loads(run["votes"]) == document["votes"]
    assert run["agreement"] == pytest.approx(document["agreement"])
    assert run["escalated"] == 1
    assert run["escalation_reason"] == document["escalation_reason"]
    assert json.loads(run["stages"]) == document["stages"]
    assert run["strong_only_cost_usd"] == pytest.approx(document["strong_only_cost_usd"])
    assert run["cost_usd"] == pytest.approx(document["cost_usd"])
    recorded = calls(ledger_path, run["id"])
    assert [c["stage"] for c in recorded][-1] == "escalate"
    assert {c["stage"] for c in recorded[:-1]} == {"cheap"}
    assert sum(c["cost_usd"] for c in recorded) == pytest.approx(run["cost_usd"])


def test_accepted_cascade_json_and_ledger(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = cascade(server, answers(["4"], "4"), capsys, monkeypatch)
    assert document["escalated"] is False
    assert document["escalation_reason"].startswith("accepted")
    assert document["stages"] == ["cheap", "check"]
    assert document["answer_model"] == CHEAP
    assert document["votes"] == {"4": 3}  # an agreeing pair, confirmed by a third
    assert document["agreement"] == 1.0
    # What the strong model alone would have cost is estimated from the prompt and the
    # cheap answer's length, at the strong model's prices: more than the cheap run cost.
    assert document["strong_only_cost_usd"] > document["cost_usd"]
    assert all(r.json["model"] == "gpt-4o-mini" for r in server.chat_requests)
    (run,) = runs(ledger_path)
    assert run["escalated"] == 0
    assert json.loads(run["votes"]) == {"4": 3}
    assert run["strong_only_cost_usd"] == pytest.approx(document["strong_only_cost_usd"])


def test_budget_too_small_to_escalate_still_prints_json(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.script(*[answers(["4", "5", "6", "7"], "4")] * 10)
    result = run_cli(
        ["--cheap", CHEAP, "--strong", STRONG, "--json", "--max-cost", "0.00006", "what is 2+2?"],
        capsys,
        monkeypatch,
    )
    assert result.code == ExitCode.BUDGET
    document = result.json
    assert document["status"] == "budget_exhausted"
    assert document["cost_usd"] <= 0.00006
    assert document["answer"]  # the best cheap answer so far
    (run,) = runs(ledger_path)
    assert run["status"] == "budget_exhausted"
    assert run["cost_usd"] <= 0.00006


def test_too_few_samples_for_the_default_rule_is_a_usage_error(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THINK_CASCADE_MAX_SAMPLES", "2")
    result = run_cli(["--cheap", CHEAP, "--strong", STRONG, "what is 2+2?"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert result.err.strip() == (
        "think: error: cascade_max_samples must be at least 3 for the default cascade rule; "
        "for fewer, set agreement (k of m)"
    )
    assert server.chat_requests == []
    monkeypatch.setenv("THINK_AGREEMENT", "1.0")  # 2 of 2 is a k-of-m rule
    server.script(*[answers(["4"], "4")] * 2)
    assert run_cli(["--cheap", CHEAP, "--strong", STRONG, "2+2?"], capsys, monkeypatch).code == 0


def test_a_strong_answer_cut_off_midway_is_followed_by_the_answer_kept(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The strong answer is streamed into the pipe; when its stream breaks and the cascade
    keeps its cheap answer, that answer follows on its own line (stdout never ends on a
    fragment that is not the answer)."""
    monkeypatch.setenv("THINK_MAX_RETRIES", "0")
    first, second = Generate(answer="The answer is 4."), Generate(answer="The answer is 5.")
    server.script(first, second, CutStream(after_events=3))
    result = run_cli(["--cheap", CHEAP, "--strong", STRONG, "what is 2+2?"], capsys, monkeypatch)
    (run,) = runs(ledger_path)
    assert run["answer"] in ("The answer is 4.", "The answer is 5.")
    assert result.out == f"The answer\n{run['answer']}\n"
