"""``think batch --mode batch`` through the CLI against the loopback batch APIs (OpenAI's
``/v1/files`` + ``/v1/batches``, Anthropic's Message Batches): round one holds every cheap
sample, round two only the escalations; results in input order; every call recorded at the
batch price; the total equal to the recorded calls; ``--max-cost``; an expired job; a job
still running when ``--wait`` ends, resumed by the same command; ``status`` and ``cancel``."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_batch_cmd import ids, lines_of, prompts_file, recorded_cost, usd
from tests.cli_support import (
    API_KEY,
    Result,
    assert_one_error_line,
    calls,
    fast_retries,
    run_cli,
    runs,
    use_server,
)
from tests.fakes.anthropic_batch_server import FakeAnthropicBatchServer
from tests.fakes.batch_plan import BatchPlan
from tests.fakes.openai_batch_server import FakeOpenAIBatchServer
from think.errors import ExitCode

CHEAP = "openai:gpt-4o-mini"
STRONG = "openai:gpt-4o"
UNSURE = 5
"""Prompts ``question k`` with k divisible by this get disagreeing cheap samples."""


def number(body: dict[str, Any]) -> int:
    messages = body["messages"]
    return int(messages[-1]["content"].split()[-1])


def answers(body: dict[str, Any], index: int) -> str:
    """The strong model answers ``k``; the cheap one too, except on every fifth question,
    where each sample gives another number (so the cascade escalates)."""
    k = number(body)
    if "mini" in str(body.get("model")) and k % UNSURE == 0:
        return f"The answer is {k + index + 1}."
    return f"The answer is {k}."


@pytest.fixture
def server(
    fake_openai_batches: FakeOpenAIBatchServer, monkeypatch: pytest.MonkeyPatch
) -> FakeOpenAIBatchServer:
    use_server(monkeypatch, fake_openai_batches)
    fast_retries(monkeypatch)
    fake_openai_batches.answer = answers
    return fake_openai_batches


@pytest.fixture
def batch(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    def run(*argv: str) -> Result:
        return run_cli(["batch", *argv], capsys, monkeypatch)

    return run


def cascade_args(*more: str) -> list[str]:
    return ["--mode", "batch", "--cheap", CHEAP, "--strong", STRONG, "--poll", "0.01", *more]


def rounds(server: FakeOpenAIBatchServer) -> list[list[tuple[str, dict[str, Any]]]]:
    """Each job's requests (custom id, body), in the order the jobs were created."""
    return [job.items for job in server.batches.jobs.values()]


def test_fifty_prompts_in_two_rounds_escalations_only_in_the_second(
    server: FakeOpenAIBatchServer, batch: Any, ledger_path: Path, tmp_path: Path
) -> None:
    result = batch(str(prompts_file(tmp_path)), *cascade_args())
    assert result.code == ExitCode.OK, result.err
    lines = lines_of(result.out)
    assert [line["id"] for line in lines] == ids()
    assert [line["answer"] for line in lines] == [f"The answer is {n}." for n in range(1, 51)]
    assert server.chat_requests == []  # nothing went through the synchronous API
    first, second = rounds(server)
    # Round one: every prompt's cheap samples, all at once (n = 5 in one request each).
    assert len(first) == 50
    assert {body["model"] for _, body in first} == {"gpt-4o-mini"}
    assert {body["n"] for _, body in first} == {5}
    # Round two: the strong model, for the ten prompts whose samples disagreed, and no other.
    assert sorted(number(body) for _, body in second) == list(range(5, 51, 5))
    assert {body["model"] for _, body in second} == {"gpt-4o"}
    escalated = [line["id"] for line in lines if line["escalated"]]
    assert escalated == [i for n, i in zip(range(1, 51), ids(), strict=True) if n % UNSURE == 0]
    assert "round 1: openai batch" in result.err
    assert "50 of 50 answered" in result.err
    assert "round 2: openai batch" in result.err
    assert "10 of 10 answered" in result.err
    # Every call is recorded against its run, priced at the batch tier (half the standard
    # rate), and the batch's total is the sum of the recorded calls.
    recorded = calls(ledger_path)
    assert len(recorded) == 60
    assert {call["served_tier"] for call in recorded} == {"batch"}
    by_run = {run["id"]: run for run in runs(ledger_path)}
    assert {by_run[line["run_id"]]["status"] for line in lines} == {"ok"}
    total = sum((usd(line["cost_usd"]) for line in lines), Decimal(0))
    assert total > 0
    assert total == pytest.approx(recorded_cost(ledger_path), abs=Decimal("1e-9") * 50)


def test_a_call_costs_half_its_standard_price(
    server: FakeOpenAIBatchServer, batch: Any, ledger_path: Path, tmp_path: Path
) -> None:
    """gpt-4o-mini: $0.15 / $0.60 per million input / output tokens (genai-prices), so
    $0.075 / $0.30 through the batch API."""
    assert batch(str(prompts_file(tmp_path, 3)), *cascade_args()).code == ExitCode.OK
    for call in calls(ledger_path):
        standard = call["input_tokens"] * Decimal("0.15") + call["output_tokens"] * Decimal("0.60")
        assert usd(call["cost_usd"]) == pytest.approx(standard / 2 / 10**6, rel=Decimal("1e-6"))


def test_max_cost_holds_across_the_batch(
    server: FakeOpenAIBatchServer, batch: Any, ledger_path: Path, tmp_path: Path
) -> None:
    result = batch(str(prompts_file(tmp_path)), *cascade_args("--max-cost", "0.3"))
    assert result.code == ExitCode.BUDGET, result.err
    lines = lines_of(result.out)
    assert len(lines) == 50
    sent = [line for line in lines if line["run_id"] is not None]
    assert 0 < len(sent) < 50
    assert recorded_cost(ledger_path) <= Decimal("0.3")
    first = rounds(server)[0]
    assert len(first) == len(sent)  # prompts that did not fit were never sent


def test_an_expired_job_says_what_did_not_come_back_and_the_cascade_goes_on(
    server: FakeOpenAIBatchServer, batch: Any, ledger_path: Path, tmp_path: Path
) -> None:
    server.script_batches(BatchPlan(outcome="expired", finished=4))
    result = batch(str(prompts_file(tmp_path, 10)), *cascade_args())
    assert result.code == ExitCode.OK, result.err
    assert "expired: 4 of 10 answered, 6 not" in result.err
    lines = lines_of(result.out)
    assert [line["answer"] for line in lines] == [f"The answer is {n}." for n in range(1, 11)]
    # the six cheap requests that never ran are errors of their calls, recorded with the
    # provider's reason; their runs escalated (with prompt 5 and 10, which disagreed)
    failed = [c for c in calls(ledger_path) if c["status"] == "error"]
    assert len(failed) == 6
    assert all("completion window expired" in c["error"] for c in failed)
    assert sorted(number(body) for _, body in rounds(server)[1]) == list(range(5, 11))
    assert [line["escalated"] for line in lines] == [False] * 4 + [True] * 6


def test_a_job_still_running_when_wait_ends_is_resumed_not_sent_again(
    server: FakeOpenAIBatchServer, batch: Any, tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    server.script_batches(BatchPlan(polls=8))
    prompts = str(prompts_file(tmp_path, 6))
    first = batch(prompts, *cascade_args("--wait", "1s", "--poll", "0.3"))
    assert first.code == ExitCode.PENDING, first.err
    (job_id,) = server.batches.jobs
    assert f"think batch status {job_id}" in first.err
    assert "the same command resumes" in first.err
    assert first.out == ""
    status = run_cli(["batch", "status", job_id], capsys, monkeypatch)
    assert status.code == 0, status.err
    assert status.out.startswith(f"openai batch {job_id}: in_progress")
    again = batch(prompts, *cascade_args())
    assert again.code == ExitCode.OK, again.err
    assert [line["answer"] for line in lines_of(again.out)] == [
        f"The answer is {n}." for n in range(1, 7)
    ]
    jobs = rounds(server)
    assert len(jobs) == 2  # round one attached to, not sent again; round two: prompt 5
    assert [number(body) for _, body in jobs[1]] == [5]


def test_cancel_a_job(server: FakeOpenAIBatchServer, capsys: Any, monkeypatch: Any) -> None:
    server.script_batches(BatchPlan(polls=100))
    api_job = _submit_one(server)
    cancelled = run_cli(["batch", "cancel", api_job], capsys, monkeypatch)
    assert cancelled.code == 0, cancelled.err
    assert cancelled.out.startswith(f"openai batch {api_job}: cancelling")
    assert server.batches.jobs[api_job].cancel_requested


def _submit_one(server: FakeOpenAIBatchServer) -> str:
    import httpx

    headers = {"Authorization": f"Bearer {API_KEY}"}
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions"}
    line["body"] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "q 1"}]}
    content = (json.dumps(line) + "\n").encode()
    with httpx.Client(base_url=server.base_url, headers=headers) as client:
        uploaded = client.post(
            "/files", files={"file": ("in.jsonl", content)}, data={"purpose": "batch"}
        )
        created = client.post(
            "/batches",
            json={
                "input_file_id": uploaded.json()["id"],
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
        )
    return str(created.json()["id"])


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--tier", "flex"], "--tier flex does not apply"),
        (["--strong", "gemini:gemini-2.5-pro"], "no batch API for protocol 'gemini'"),
        (["--wait", "soon"], "--wait: 'soon' is not a duration"),
    ],
)
def test_what_batch_mode_cannot_do_is_refused_before_anything_is_sent(
    argv: list[str],
    says: str,
    server: FakeOpenAIBatchServer,
    batch: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "g-key")
    result = batch(str(prompts_file(tmp_path, 3)), *cascade_args(*argv))
    assert result.code == ExitCode.USAGE, result.err
    assert_one_error_line(result.err, says)
    assert server.requests == []


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["status"], "give the batch job's id"),
        (["cancel", "job-1"], "name its provider with --provider"),
    ],
)
def test_status_and_cancel_need_a_job_id(
    argv: list[str], says: str, server: FakeOpenAIBatchServer, batch: Any
) -> None:
    result = batch(*argv)
    assert result.code == ExitCode.USAGE, result.err
    assert_one_error_line(result.err, says)


def test_anthropic_message_batches(
    fake_anthropic_batches: FakeAnthropicBatchServer,
    batch: Any,
    ledger_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic_batches.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    fast_retries(monkeypatch)
    result = batch(
        str(prompts_file(tmp_path, 4)),
        "--mode",
        "batch",
        "--cheap",
        "anthropic:claude-haiku-4-5",
        "--strong",
        "anthropic:claude-sonnet-4-5",
        "--poll",
        "0.01",
    )
    assert result.code == ExitCode.OK, result.err
    lines = lines_of(result.out)
    assert len(lines) == 4
    assert {line["status"] for line in lines} == {"ok"}
    recorded = calls(ledger_path)
    assert recorded
    assert {call["served_tier"] for call in recorded} == {"batch"}
    assert sum((usd(line["cost_usd"]) for line in lines), Decimal(0)) == pytest.approx(
        recorded_cost(ledger_path), abs=Decimal("1e-9") * 4
    )


def test_a_round_already_recorded_is_read_again_at_no_cost_when_resumed(
    server: FakeOpenAIBatchServer, batch: Any, ledger_path: Path, tmp_path: Path
) -> None:
    """Cut short while the escalations' job runs: the prompt that escalated was recorded
    (cancelled) with its cheap call. The same command reads that cheap job again (the
    provider billed it once, and the ledger counts it once: the read is $0) and attaches to
    the escalations' job; nothing is sent twice."""
    server.script_batches(BatchPlan(), BatchPlan(polls=8))
    prompts = str(prompts_file(tmp_path, 6))
    first = batch(prompts, *cascade_args("--wait", "1s", "--poll", "0.3"))
    assert first.code == ExitCode.PENDING, first.err
    cut = [run for run in runs(ledger_path) if run["status"] == "cancelled"]
    assert len(cut) == 1
    (cheap_call, *_) = calls(ledger_path, cut[0]["id"])
    assert cheap_call["served_tier"] == "batch"
    assert usd(cheap_call["cost_usd"]) > 0
    again = batch(prompts, *cascade_args())
    assert again.code == ExitCode.OK, again.err
    lines = lines_of(again.out)
    assert [line["answer"] for line in lines] == [f"The answer is {n}." for n in range(1, 7)]
    assert len(rounds(server)) == 2
    resumed = next(line for line in lines if line["id"] == "5")
    reread, escalation = calls(ledger_path, resumed["run_id"])
    assert (reread["served_tier"], usd(reread["cost_usd"])) == ("batch-reread", 0)
    assert (reread["input_tokens"], reread["output_tokens"]) == (
        cheap_call["input_tokens"],
        cheap_call["output_tokens"],
    )
    assert escalation["served_tier"] == "batch"
    assert usd(escalation["cost_usd"]) > 0


def test_a_kept_job_the_provider_no_longer_knows_is_sent_again(
    server: FakeOpenAIBatchServer, batch: Any, tmp_path: Path
) -> None:
    """The provider answers 404 for a kept job (its results deleted, another key): the round
    is sent again instead of failing every prompt."""
    server.script_batches(BatchPlan(polls=100))
    prompts = str(prompts_file(tmp_path, 4))
    first = batch(prompts, *cascade_args("--wait", "1s", "--poll", "0.3"))
    assert first.code == ExitCode.PENDING, first.err
    server.batches.jobs.clear()  # the provider has forgotten it
    again = batch(prompts, *cascade_args())
    assert again.code == ExitCode.OK, again.err
    lines = lines_of(again.out)
    assert [line["answer"] for line in lines] == [f"The answer is {n}." for n in range(1, 5)]
    assert [line["escalated"] for line in lines] == [False] * 4  # the cheap samples came back
    (job,) = rounds(server)  # sent again: the cheap round, one job on the server now
    assert {body["model"] for _, body in job} == {"gpt-4o-mini"}


def test_quiet_says_nothing_of_the_rounds(
    server: FakeOpenAIBatchServer, batch: Any, tmp_path: Path
) -> None:
    result = batch(str(prompts_file(tmp_path, 3)), *cascade_args("-q"))
    assert result.code == ExitCode.OK, result.err
    assert result.err == ""
    assert len(lines_of(result.out)) == 3
