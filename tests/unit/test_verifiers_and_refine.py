"""The LLM judge, the verify command and the ``refine`` strategy, through the real run
orchestration with a scripted provider."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.fakes.scripted_provider import Reply, ScriptedProvider
from tests.unit.test_strategies import CHEAP, STRONG, run
from think.model_ref import ModelRef
from think.strategies.cascade import Cascade
from think.strategies.refine import Refine
from think.strategies.verifiers import JUDGE_SYSTEM, CommandVerifier, JudgeVerifier

JUDGE = ModelRef("fake", "judge")


def test_judge_accepts_agreeing_answers_and_sees_question_and_candidate() -> None:
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 4."] * 3)
    provider.script("judge", ["2 + 2 = 4, so the proposal is right.\nVERDICT: correct"])
    record, _ = run(Cascade(CHEAP, STRONG, verifier=JudgeVerifier(JUDGE)), provider)
    assert not record.escalated
    assert record.escalation_reason == "accepted: 3/3 agree, judge: correct"
    judge_request = provider.requests[-1]
    assert judge_request.model == "judge"
    assert judge_request.temperature == 0.0
    assert judge_request.messages[0].content == JUDGE_SYSTEM
    assert "What is 2+2?" in judge_request.messages[1].content
    assert "The answer is 4." in judge_request.messages[1].content
    assert record.stages == ("cheap", "check")


@pytest.mark.parametrize(
    ("verdict", "reason"),
    [
        ("Two plus two is five.\n**VERDICT: incorrect**", "verifier rejected: judge: incorrect"),
        ("I am not sure.", "verifier rejected: judge gave no verdict"),
        (Reply("", error="fake: HTTP 500"), "verifier rejected: judge failed: fake: HTTP 500"),
    ],
)
def test_judge_rejection_or_failure_escalates(verdict: str | Reply, reason: str) -> None:
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 5."] * 3)
    provider.script("judge", [verdict])
    provider.script("strong", ["The answer is 4."])
    record, _ = run(Cascade(CHEAP, STRONG, verifier=JudgeVerifier(JUDGE)), provider)
    assert record.escalated
    assert record.escalation_reason == reason
    assert record.final_answer == "4"
    assert record.answer_model == "fake:strong"


def test_verify_command_gets_the_answer_on_stdin_never_through_a_shell(tmp_path: Path) -> None:
    witness = tmp_path / "pwned"
    script = tmp_path / "check.py"
    script.write_text(
        "import os, sys\n"
        "text = sys.stdin.read()\n"
        "ok = os.environ['THINK_FINAL_ANSWER'] == '4' and '$(touch' in text\n"
        "sys.exit(0 if ok else 1)\n"
    )
    hostile = f"$(touch {witness}) `touch {witness}`; touch {witness}\nThe answer is 4."
    provider = ScriptedProvider()
    provider.script("cheap", [hostile] * 3)
    verifier = CommandVerifier.parse(f"{sys.executable} {script}", timeout=10)
    record, _ = run(Cascade(CHEAP, STRONG, verifier=verifier), provider)
    assert not record.escalated
    assert record.escalation_reason == "accepted: 3/3 agree, verify command accepted"
    assert not witness.exists()


def test_verify_command_timeout_rejects(tmp_path: Path) -> None:
    script = tmp_path / "slow.py"
    script.write_text("import time\ntime.sleep(30)\n")
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 4."] * 3)
    provider.script("strong", ["The answer is 4."])
    verifier = CommandVerifier((sys.executable, str(script)), timeout=0.3)
    record, _ = run(Cascade(CHEAP, STRONG, verifier=verifier), provider)
    assert record.escalated
    assert record.escalation_reason == "verifier rejected: verify command timed out after 0.3s"


def test_refine_revises_until_the_judge_accepts() -> None:
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 5.", "Let me redo it: the answer is 4."])
    provider.script("judge", ["2 + 2 is 4, not 5.\nVERDICT: incorrect", "Right.\nVERDICT: correct"])
    record, _ = run(Refine(CHEAP, JudgeVerifier(JUDGE), rounds=3), provider)
    assert record.status == "ok"
    assert record.final_answer == "4"
    assert record.stages == ("draft", "critique", "revise", "critique")
    assert record.escalation_reason == "accepted: judge: correct"
    assert record.calls == 4
    revise_request = provider.requests[2]
    assert revise_request.model == "cheap"
    roles = [message.role for message in revise_request.messages]
    assert roles[-2:] == ["assistant", "user"]
    assert revise_request.messages[-2].content == "The answer is 5."
    assert "2 + 2 is 4, not 5." in revise_request.messages[-1].content  # the critique


def test_refine_stops_after_its_rounds_with_the_last_revision() -> None:
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 5.", "The answer is 6.", "The answer is 7."])
    provider.script("judge", ["VERDICT: incorrect"] * 2)
    record, _ = run(Refine(CHEAP, JudgeVerifier(JUDGE), rounds=2), provider)
    assert record.final_answer == "7"
    assert record.escalation_reason == "rounds exhausted"
    assert record.stages == ("draft", "critique", "revise", "critique", "revise")
    assert record.calls == 5


def test_refine_reports_a_failed_draft_as_an_error() -> None:
    provider = ScriptedProvider()
    provider.script("cheap", [Reply("", error="fake: HTTP 500: boom")])
    record, _ = run(Refine(CHEAP, JudgeVerifier(JUDGE)), provider)
    assert record.status == "error"
    assert record.error is not None
    assert "boom" in record.error
