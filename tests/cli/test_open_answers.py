"""Open-ended prompts through the CLI and the loopback OpenAI server: the cascade judges a
free-form answer as a whole (a judge's verdicts, or ``--verify-cmd``), never by its last line,
and an open answer reaches stdout as the model wrote it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import assert_one_error_line, calls, run_cli, runs, use_server
from tests.fakes.openai_server import FakeOpenAIServer, Generate
from think.errors import ExitCode
from think.strategies.judging import RUBRIC
from think.strategies.reasoning import SHORT_OR_OPEN_LINE

CHEAP = "openai:gpt-4o-mini"
STRONG = "openai:o4-mini"
SUMMARY = (
    "Open questions:\n"
    "- Who owns the migration of the billing tables?\n"
    "- Do we keep the v1 API after March?\n"
    "- What is the budget for the load tests?"
)
PROOF_A = (
    "Suppose sqrt(2) = p/q in lowest terms. Then p^2 = 2 q^2, so p is even, p = 2k. Then "
    "4k^2 = 2q^2, so q^2 = 2k^2 and q is even too: both are divisible by 2, a contradiction."
)
PROOF_B = (
    "Assume sqrt(2) is rational, sqrt(2) = a/b with gcd(a, b) = 1. Squaring, a^2 = 2b^2 is "
    "even, hence a is even; writing a = 2m gives b^2 = 2m^2, so b is even and gcd(a, b) >= 2."
)
STRONG_PROOF = "A careful proof by infinite descent shows that sqrt(2) is irrational."


def scripted(cheap: list[str], verdicts: list[str], strong: str = STRONG_PROOF) -> Generate:
    """Cheap answers in turn; the judge's verdicts (requests whose system prompt is the
    rubric) in turn, one per choice; the strong model answers ``strong``."""
    turns = {"cheap": 0, "judge": 0}

    def answer(body: dict[str, Any], index: int) -> str:
        system = body["messages"][0]["content"] if body["messages"][0]["role"] == "system" else ""
        if body["model"] == "o4-mini":
            return strong
        if system == RUBRIC:
            turns["judge"] += 1
            return verdicts[(turns["judge"] - 1) % len(verdicts)]
        turns["cheap"] += 1
        return cheap[(turns["cheap"] - 1) % len(cheap)]

    return Generate(answer=answer)


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


def ask(
    server: FakeOpenAIServer,
    behaviour: Generate,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prompt: str,
    *flags: str,
) -> tuple[str, dict[str, Any]]:
    """Run the prompt twice on the same script: plain (stdout is the answer) and --json."""
    server.reset()
    server.script(*[behaviour] * 20)
    plain = run_cli(["--cheap", CHEAP, "--strong", STRONG, *flags, prompt], capsys, monkeypatch)
    assert plain.code == ExitCode.OK, plain.err
    server.reset()
    server.script(*[behaviour] * 20)
    result = run_cli(
        ["--cheap", CHEAP, "--strong", STRONG, "--json", *flags, prompt], capsys, monkeypatch
    )
    assert result.code == ExitCode.OK, result.err
    document: dict[str, Any] = result.json
    return plain.out, document


def test_a_summary_reaches_stdout_as_written_and_costs_less_than_the_strong_model(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verdict = "Faithful and complete; it lists every open question.\nVERDICT: PASS"
    out, document = ask(
        server, scripted([SUMMARY], [verdict]), capsys, monkeypatch, "summarise the open questions"
    )
    assert out == SUMMARY + "\n"  # no invented "The answer is" line
    assert document["answer"] == SUMMARY
    assert document["answer_shape"] == "open"
    assert document["verdict"] == "pass"
    assert document["p_accept"] == 1.0
    assert document["escalated"] is False
    assert document["escalation_reason"] == "accepted: 3/3 verdicts pass, p=1.00 ≥ 0.66"
    assert document["stages"] == ["cheap", "check", "verify"]
    assert document["answer_model"] == CHEAP
    assert document["final_answer"] is None
    assert document["votes"] == {}
    assert document["cost_usd"] < document["strong_only_cost_usd"]
    # one cheap answer (not a pair), then one judge request for three verdicts (n=3)
    requests = [r.json for r in server.chat_requests[-2:]]
    assert [(r["model"], r.get("n", 1)) for r in requests] == [
        ("gpt-4o-mini", 1),
        ("gpt-4o-mini", 3),
    ]
    assert SHORT_OR_OPEN_LINE in requests[0]["messages"][0]["content"]
    assert SUMMARY in requests[1]["messages"][1]["content"]
    run = runs(ledger_path)[-1]
    assert (run["answer_shape"], run["verdict"], run["p_accept"]) == ("open", "pass", 1.0)
    recorded = calls(ledger_path, run["id"])
    assert [c["stage"] for c in recorded] == ["cheap", "verify"]
    assert json.loads(recorded[1]["text"]) == [verdict] * 3


def test_two_different_proofs_are_never_accepted_on_a_shared_number(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Both proofs end on the number 2; neither is a short answer. The judge finds a gap
    # in the first (2 of 3 verdicts fail): the run escalates instead of "agreeing on 2".
    verdicts = [
        "Step 3 assumes what it proves.\nVERDICT: FAIL",
        "VERDICT: PASS",
        "The lowest-terms assumption is never used.\nVERDICT: FAIL",
    ]
    out, document = ask(
        server,
        scripted([PROOF_A, PROOF_B], verdicts),
        capsys,
        monkeypatch,
        "prove that sqrt(2) is irrational",
    )
    assert out == STRONG_PROOF + "\n"
    assert document["answer_shape"] == "open"
    assert document["final_answer"] is None
    assert document["votes"] == {}
    assert document["verdict"] == "fail"
    assert document["p_accept"] == pytest.approx(1 / 3)
    assert document["escalated"] is True
    assert document["escalation_reason"] == "judge rejected: 1/3 verdicts pass, p=0.33 < 0.66"
    assert document["answer_model"] == STRONG
    assert document["stages"] == ["cheap", "check", "verify", "escalate"]
    run = runs(ledger_path)[-1]
    assert run["escalation_reason"] == document["escalation_reason"]
    assert [c["stage"] for c in calls(ledger_path, run["id"])] == ["cheap", "verify", "escalate"]


def test_a_judge_that_gives_no_verdict_never_accepts(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, document = ask(
        server, scripted([SUMMARY], ["Looks fine to me."]), capsys, monkeypatch, "summarise"
    )
    assert document["escalated"] is True
    assert document["p_accept"] == 0.0
    assert document["escalation_reason"] == (
        "judge rejected: 0/3 verdicts pass, p=0.00 < 0.66: the judge wrote no readable "
        "VERDICT line (a weak --judge?)"
    )


def test_accept_threshold_and_judge_model_are_settings(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    verdicts = ["VERDICT: PASS", "VERDICT: FAIL", "VERDICT: FAIL"]
    _, document = ask(
        server,
        scripted([SUMMARY], verdicts),
        capsys,
        monkeypatch,
        "summarise",
        "--accept-threshold",
        "0.3",
        "--judge",
        "openai:gpt-4.1-nano",
    )
    assert document["escalated"] is False
    assert document["p_accept"] == pytest.approx(1 / 3)
    assert server.chat_requests[-1].json["model"] == "gpt-4.1-nano"


def test_a_short_question_keeps_the_voting_path(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, document = ask(server, scripted(["The answer is 4."], []), capsys, monkeypatch, "2+2?")
    assert document["answer_shape"] == "short"
    assert document["votes"] == {"4": 3}
    assert document["verdict"] is None
    assert all(RUBRIC not in json.dumps(r.json) for r in server.chat_requests)


def test_answer_format_open_forces_the_judge_even_for_a_short_answer(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, document = ask(
        server,
        scripted(["The answer is 4."], ["VERDICT: PASS"]),
        capsys,
        monkeypatch,
        "2+2?",
        "--answer-format",
        "open",
    )
    assert out == "The answer is 4.\n"
    assert document["answer_shape"] == "open"
    assert document["verdict"] == "pass"
    cheap_request = server.chat_requests[-2].json
    assert "The answer is <answer>" not in json.dumps(cheap_request)


CHECK_SLUG = """
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("answer", os.environ["THINK_ANSWER_CODE_FILE"])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
assert module.slug("Hello, World!") == "hello-world"
assert "def slug" in sys.stdin.read()
"""
GOOD_CODE = (
    "Here it is:\n\n```python\nimport re\n\ndef slug(text):\n"
    "    return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')\n```\n"
)
BAD_CODE = "```python\ndef slug(text):\n    return text.lower()\n```"


@pytest.mark.parametrize(("cheap", "escalated"), [(GOOD_CODE, False), (BAD_CODE, True)])
def test_verify_cmd_runs_the_code_of_an_open_answer(
    cheap: str,
    escalated: bool,
    tmp_path: Path,
    server: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check = tmp_path / "check_slug.py"
    check.write_text(CHECK_SLUG, encoding="utf-8")
    _, document = ask(
        server,
        scripted([cheap], []),
        capsys,
        monkeypatch,
        "write a python function slug(text)",
        "--verify-cmd",
        f"{sys.executable} {check}",
    )
    assert document["answer_shape"] == "open"
    assert document["escalated"] is escalated
    assert document["verdict"] == ("fail" if escalated else "pass")
    reason = document["escalation_reason"]
    assert reason.startswith(
        "verifier rejected: verify command rejected (exit 1)"
        if escalated
        else "accepted: verify command accepted"
    )
    assert all(RUBRIC not in json.dumps(r.json) for r in server.chat_requests)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["-s", "single", "--verify-cmd", "false"], "not by single"),
        (["-s", "vote", "--verify-cmd", "false"], "not by vote"),
        (["-m", CHEAP, "--verify-cmd", "true"], "used by the cascade and refine strategies"),
        (["--verify-cmd", "check 'unclosed"], "--verify-cmd: No closing quotation"),
        (["--verify-cmd", "/nonexistent/checker --x"], "/nonexistent/checker is not an exec"),
        (["--verify-cmd", "no-such-checker-3f9 --x"], "no-such-checker-3f9 is not found on PATH"),
        (["-s", "refine", "--verify-cmd", "no-such-checker-3f9"], "not found on PATH"),
    ],
    ids=["single", "vote", "default-single", "unparsable", "no-file", "not-on-path", "refine"],
)
def test_a_verify_cmd_that_cannot_serve_is_a_usage_error_before_any_call(
    flags: list[str],
    message: str,
    server: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A strategy that checks no answer, or a command that cannot run: exit 2 with one line,
    nothing sent (it was once ignored, or found only after the cheap call was paid for)."""
    models = [] if "-m" in flags else ["--cheap", CHEAP, "--strong", STRONG]
    if "-s" in flags and "refine" not in flags:
        models = ["-m", CHEAP]
    result = run_cli([*models, *flags, "write slug"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE, result.err
    assert_one_error_line(result.err, message)
    assert server.chat_requests == []


def test_ledger_stats_count_open_answers_apart_from_short_ones(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ask(server, scripted([SUMMARY], ["VERDICT: FAIL"]), capsys, monkeypatch, "summarise")
    ask(server, scripted(["The answer is 4."], []), capsys, monkeypatch, "2+2?")
    result = run_cli(["ledger", "stats", "--by", "shape", "--json"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    rows = {row["shape"]: row for row in result.json["rows"]}
    assert set(rows) == {"open", "short"}, result.json
    assert (rows["open"]["runs"], rows["open"]["escalated"]) == (2, 2)
    assert (rows["short"]["runs"], rows["short"]["escalated"]) == (2, 0)
    assert rows["short"]["saved_usd"] > 0
