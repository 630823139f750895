"""``think batch`` through the CLI against the loopback OpenAI server: results in input order,
the batch's cost equal to its recorded calls, one --max-cost across the batch, the daily cap,
bad lines refused before anything is sent, stdin, --out, resuming from kept results."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import (
    MODEL,
    Result,
    assert_one_error_line,
    calls,
    fast_retries,
    run_cli,
    runs,
    use_server,
)
from tests.fakes.openai_server import FakeOpenAIServer, server_error
from think.errors import ExitCode

Run = Any


def last_word(body: dict[str, Any], index: int) -> str:
    """The fake's answer: the last word of the prompt ("question 7" → "The answer is 7.")."""
    return f"The answer is {body['messages'][-1]['content'].split()[-1]}."


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    fast_retries(monkeypatch)
    fake_openai.answer = last_word
    return fake_openai


@pytest.fixture
def batch(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    def run(*argv: str, stdin: bytes | None = None) -> Result:
        return run_cli(["batch", *argv], capsys, monkeypatch, stdin)

    return run


def prompts_file(tmp_path: Path, count: int = 50) -> Path:
    """``count`` prompts: odd lines a bare JSON string, even lines an object with an id."""
    lines = []
    for n in range(1, count + 1):
        if n % 2:
            lines.append(json.dumps(f"question {n}"))
        else:
            lines.append(json.dumps({"id": f"q{n}", "prompt": f"question {n}"}))
    path = tmp_path / "prompts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ids(count: int = 50) -> list[str]:
    return [str(n) if n % 2 else f"q{n}" for n in range(1, count + 1)]


def lines_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def usd(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def recorded_cost(ledger_path: Path) -> Decimal:
    return sum((usd(call["cost_usd"]) for call in calls(ledger_path)), Decimal(0))


def test_fifty_prompts_give_fifty_results_in_input_order(
    server: FakeOpenAIServer, batch: Any, ledger_path: Path, tmp_path: Path
) -> None:
    result = batch(str(prompts_file(tmp_path)), "-m", MODEL, "--concurrency", "8")
    assert result.code == ExitCode.OK, result.err
    assert result.err == ""  # not a terminal: no progress bar, no summary
    lines = lines_of(result.out)
    assert [line["id"] for line in lines] == ids()
    assert [line["answer"] for line in lines] == [f"The answer is {n}." for n in range(1, 51)]
    assert {line["status"] for line in lines} == {"ok"}
    assert len(server.chat_requests) == 50
    (batch_id,) = {line["batch_id"] for line in lines}
    recorded = {run["id"]: run for run in runs(ledger_path)}
    assert [recorded[line["run_id"]]["batch_id"] for line in lines] == [batch_id] * 50
    # The batch's total is what its recorded calls cost, line by line and in all.
    for line in lines:
        (call,) = calls(ledger_path, line["run_id"])
        assert usd(line["cost_usd"]) == usd(call["cost_usd"]).quantize(Decimal("1e-9"))
    total = sum((usd(line["cost_usd"]) for line in lines), Decimal(0))
    assert total > 0
    assert total == pytest.approx(recorded_cost(ledger_path), abs=Decimal("1e-9") * 50)


def test_the_ledger_lists_a_batch_by_its_id_or_a_prefix(
    server: FakeOpenAIServer, batch: Any, tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    first = lines_of(batch(str(prompts_file(tmp_path, 25)), "-m", MODEL).out)
    assert run_cli(["-m", MODEL, "not in the batch"], capsys, monkeypatch).code == 0
    batch_id = first[0]["batch_id"]
    listed = run_cli(["ledger", "--batch", batch_id[:6], "--json"], capsys, monkeypatch)
    assert listed.code == 0, listed.err
    found = lines_of(listed.out)
    assert len(found) == 25  # all of them, not the default 20
    assert {row["id"] for row in found} == {line["run_id"] for line in first}
    assert {row["batch_id"] for row in found} == {batch_id}


def test_input_is_the_material_the_prompt_is_about(
    server: FakeOpenAIServer, batch: Any, tmp_path: Path
) -> None:
    """``input`` combines with the prompt as stdin does with the argument of ``think``."""
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"id": "a", "prompt": "summarise it", "input": "Some notes.\n"}) + "\n",
        encoding="utf-8",
    )
    result = batch(str(path), "-m", MODEL)
    assert result.code == 0, result.err
    (request,) = server.chat_requests
    assert request.body["messages"][-1]["content"] == "Some notes.\n\nsummarise it"
    assert lines_of(result.out)[0]["id"] == "a"


def test_prompts_from_stdin_and_lines_to_a_file(
    server: FakeOpenAIServer, batch: Any, tmp_path: Path
) -> None:
    out = tmp_path / "results.jsonl"
    stdin = b'"question 1"\n\n   \n{"prompt": "question 2"}\n'  # blank lines are skipped
    result = batch("-", "-m", MODEL, "--out", str(out), stdin=stdin)
    assert result.code == 0, result.err
    assert result.out == ""
    lines = lines_of(out.read_text(encoding="utf-8"))
    assert [(line["id"], line["answer"]) for line in lines] == [
        ("1", "The answer is 1."),
        ("4", "The answer is 2."),  # the id is the line's number
    ]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("not json", "prompts.jsonl:3: not JSON"),
        ('{"id": "x"}', "prompts.jsonl:3: no prompt"),
        ('{"prompt": "   "}', "prompts.jsonl:3: no prompt"),
        ("42", "prompts.jsonl:3: give a JSON string or an object"),
        ('{"id": "first", "prompt": "again"}', "prompts.jsonl:3: id 'first' is also the id"),
        ('{"prompt": "p", "inptu": "x"}', "prompts.jsonl:3: unknown field 'inptu'"),
        ('{"prompt": "p", "input": 7}', "prompts.jsonl:3: input is not a string"),
        ('"\\ud800"', "prompts.jsonl:3: the prompt is not valid UTF-8"),
    ],
    ids=["not-json", "no-prompt", "blank-prompt", "number", "dup-id", "unknown", "input", "utf8"],
)
def test_a_bad_line_is_refused_before_anything_is_sent(
    line: str, says: str, server: FakeOpenAIServer, batch: Any, ledger_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text(f'{{"id": "first", "prompt": "q 1"}}\n"q 2"\n{line}\n"q 4"\n', "utf-8")
    result = batch(str(path), "-m", MODEL)
    assert result.code == ExitCode.USAGE
    assert result.out == ""
    assert_one_error_line(result.err, says)
    assert server.requests == []
    assert not ledger_path.exists() or runs(ledger_path) == []


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--mode", "later"], "--mode: 'later' is not one of now, batch"),
        (["--concurrency", "0"], "--concurrency"),
    ],
)
def test_bad_options_are_usage_errors(
    argv: list[str], says: str, server: FakeOpenAIServer, batch: Any, tmp_path: Path
) -> None:
    result = batch(str(prompts_file(tmp_path, 3)), "-m", MODEL, *argv)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, says)
    assert server.requests == []


def test_an_empty_file_and_out_over_the_input_are_refused(
    server: FakeOpenAIServer, batch: Any, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    assert_one_error_line(batch(str(empty), "-m", MODEL).err, "holds no prompts")
    path = prompts_file(tmp_path, 3)
    result = batch(str(path), "-m", MODEL, "--out", str(path))
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "is the prompts file")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_max_cost_holds_across_the_batch(
    concurrency: str, server: FakeOpenAIServer, batch: Any, ledger_path: Path, tmp_path: Path
) -> None:
    """Each run reserves its worst case from what the batch has left; the prompts it cannot
    afford are not sent, their lines say ``budget``, and the exit code is BUDGET's."""
    cap = Decimal("0.0001")
    argv = ["-m", MODEL, "--max-tokens", "100", "--max-cost", str(cap)]
    result = batch(str(prompts_file(tmp_path)), *argv, "--concurrency", concurrency)
    assert result.code == ExitCode.BUDGET, result.err
    lines = lines_of(result.out)
    assert [line["id"] for line in lines] == ids()
    sent = [line for line in lines if line["status"] == "ok"]
    unsent = [line for line in lines if line["status"] == "budget"]
    assert len(sent) + len(unsent) == 50
    assert 0 < len(sent) < 50
    assert len(server.chat_requests) == len(sent) == len(runs(ledger_path))
    assert recorded_cost(ledger_path) <= cap
    assert all(line["run_id"] is None and line["cost_usd"] == 0 for line in unsent)
    assert "not sent: --max-cost" in unsent[0]["error"]
    if concurrency == "1":  # one at a time, in input order: the answered lines come first
        assert [line["status"] for line in lines] == ["ok"] * len(sent) + ["budget"] * len(unsent)
    assert "batch stopped early: --max-cost" in result.err


def test_the_daily_cap_holds_across_the_batch(
    server: FakeOpenAIServer,
    batch: Any,
    ledger_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under a daily cap each run reserves its own worst case in the ledger (not all the cap
    leaves); the run the cap refuses stops the batch with the cap's exit code."""
    cap = Decimal("0.0002")
    monkeypatch.setenv("THINK_DAILY_BUDGET", str(cap))
    result = batch(str(prompts_file(tmp_path)), "-m", MODEL, "--max-tokens", "100")
    assert result.code == ExitCode.SPENDING_CAP, result.err
    lines = lines_of(result.out)
    statuses = [line["status"] for line in lines]
    assert 0 < statuses.count("ok") < 50
    assert statuses.count("ok") + statuses.count("budget") == 50
    assert recorded_cost(ledger_path) <= cap
    assert "daily budget" in next(line for line in lines if line["status"] == "budget")["error"]


def test_the_same_batch_again_asks_nothing_it_answered(
    server: FakeOpenAIServer, batch: Any, tmp_path: Path
) -> None:
    path = prompts_file(tmp_path, 10)
    first = batch(str(path), "-m", MODEL)
    assert first.code == 0
    again = batch(str(path), "-m", MODEL)
    assert again.code == 0, again.err
    assert len(server.chat_requests) == 10
    assert again.out == first.out
    assert "resuming: 10 of 10 prompts answered in" in again.err
    other_settings = batch(str(path), "-m", MODEL, "--max-tokens", "50")  # a new fingerprint
    assert other_settings.code == 0
    assert len(server.chat_requests) == 20
    restarted = batch(str(path), "-m", MODEL, "--restart")
    assert restarted.code == 0
    assert len(server.chat_requests) == 30
    assert lines_of(restarted.out)[0]["batch_id"] != lines_of(first.out)[0]["batch_id"]


def test_a_failed_prompt_is_asked_again_the_answered_ones_are_not(
    server: FakeOpenAIServer, batch: Any, tmp_path: Path
) -> None:
    path = prompts_file(tmp_path, 6)
    server.script(server_error(), server_error())  # the first prompt and its one retry
    first = batch(str(path), "-m", MODEL, "--concurrency", "1")
    assert first.code == ExitCode.PROVIDER
    statuses = [line["status"] for line in lines_of(first.out)]
    assert statuses == ["error"] + ["ok"] * 5
    assert "1 of 6 prompts failed; the first, " in first.err
    assert len(server.chat_requests) == 7
    again = batch(str(path), "-m", MODEL)
    assert again.code == 0, again.err
    assert len(server.chat_requests) == 8
    lines = lines_of(again.out)
    assert [line["status"] for line in lines] == ["ok"] * 6
    assert len({line["batch_id"] for line in lines}) == 1  # one batch, resumed


def test_deterministic_prompts_are_reused_from_the_ledger(
    server: FakeOpenAIServer, batch: Any, ledger_path: Path, tmp_path: Path
) -> None:
    path = prompts_file(tmp_path, 5)
    argv = ["-m", MODEL, "--temperature", "0"]
    assert batch(str(path), *argv).code == 0
    again = batch(str(path), *argv, "--restart")
    assert again.code == 0, again.err
    assert len(server.chat_requests) == 5
    lines = lines_of(again.out)
    assert {line["status"] for line in lines} == {"reused"}
    assert [line["answer"] for line in lines] == [f"The answer is {n}." for n in range(1, 6)]
    reused = [run for run in runs(ledger_path) if run["status"] == "reused"]
    assert {run["batch_id"] for run in reused} == {lines[0]["batch_id"]}


def test_no_log_keeps_no_results_file(
    server: FakeOpenAIServer, batch: Any, tmp_path: Path, isolated_env: Path
) -> None:
    path = prompts_file(tmp_path, 3)
    assert batch(str(path), "-m", MODEL, "--no-log").code == 0
    assert not (isolated_env / "batches").exists()
    kept = tmp_path / "kept.jsonl"
    assert batch(str(path), "-m", MODEL, "--no-log", "--results", str(kept)).code == 0
    assert len(kept.read_text(encoding="utf-8").splitlines()) == 3


def test_the_query_options_apply_to_every_prompt(
    server: FakeOpenAIServer, batch: Any, tmp_path: Path
) -> None:
    """The ask options are the batch's too: here the system prompt, the output limit and
    the service tier reach every request."""
    path = prompts_file(tmp_path, 3)
    argv = ["-m", MODEL, "--system", "Be brief.", "--max-tokens", "77", "--tier", "flex"]
    result = batch(str(path), *argv)
    assert result.code == 0, result.err
    for request in server.chat_requests:
        assert request.body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert 77 in (request.body.get("max_completion_tokens"), request.body.get("max_tokens"))
        assert request.body["service_tier"] == "flex"
