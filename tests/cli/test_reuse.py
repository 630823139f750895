"""Reuse of an earlier answer at $0, end to end: the CLI against the loopback OpenAI server,
whose request log shows whether a provider was called, and the ledger it leaves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_support import API_KEY, MODEL, run_cli, runs, use_server
from tests.fakes.openai_server import FakeOpenAIServer, server_error
from think.errors import ExitCode

DETERMINISTIC = ("-m", MODEL, "--temperature", "0")
REUSED_LINE = "think: reused from run "


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    monkeypatch.setenv("THINK_MAX_RETRIES", "0")
    return fake_openai


def test_the_second_identical_deterministic_run_is_answered_from_the_ledger_at_0(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    assert first.code == ExitCode.OK
    assert first.err == ""
    assert len(server.chat_requests) == 1

    second = run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    assert second.code == ExitCode.OK
    assert second.out == first.out == "The answer is 4.\n"
    assert len(server.chat_requests) == 1  # no provider call
    original, reused = runs(ledger_path)
    assert second.err.startswith(f"{REUSED_LINE}{original['id'][:8]} of ")
    assert second.err.endswith(", $0.00 (--no-reuse for a fresh answer)\n")
    assert second.err.count("\n") == 1
    assert original["status"] == "ok"
    assert original["cost_usd"] > 0
    assert original["fingerprint"] == reused["fingerprint"]
    assert reused["status"] == "reused"
    assert reused["reused_from"] == original["id"]
    assert reused["exit_code"] == 0
    assert reused["cost_usd"] == 0
    assert reused["cost_source"] == "computed"
    assert reused["calls"] == 0
    assert reused["answer"] == original["answer"]
    assert reused["reserved_usd"] is None

    # a third run reuses the same original (never a reused run)
    run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    assert [run["reused_from"] for run in runs(ledger_path)] == [None, *[original["id"]] * 2]
    assert len(server.chat_requests) == 1


def test_json_document_says_what_was_reused(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = run_cli([*DETERMINISTIC, "--json", "what is 2+2?"], capsys, monkeypatch).json
    assert first["reused_from"] is None
    second = run_cli([*DETERMINISTIC, "--json", "what is 2+2?"], capsys, monkeypatch).json
    assert second["status"] == "reused"
    assert second["reused_from"] == first["run_id"]
    assert second["answer"] == first["answer"]
    assert second["cost_usd"] == 0
    assert second["calls"] == 0
    assert second["exit_code"] == 0
    assert second["run_id"] != first["run_id"]


@pytest.mark.parametrize(
    "changed",
    [
        ["-m", "openai:gpt-4.1-mini", "--temperature", "0", "what is 2+2?"],
        [*DETERMINISTIC, "what is 3+3?"],
        [*DETERMINISTIC, "--max-tokens", "200", "what is 2+2?"],
        [*DETERMINISTIC, "--system", "Be brief.", "what is 2+2?"],
        [*DETERMINISTIC, "--answer-format", "number", "what is 2+2?"],
        [*DETERMINISTIC, "--no-reuse", "what is 2+2?"],
    ],
    ids=["model", "prompt", "max-tokens", "system", "answer-format", "no-reuse"],
)
def test_a_difference_that_shapes_the_answer_gets_a_fresh_one(
    changed: list[str],
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch).code == 0
    result = run_cli(changed, capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert REUSED_LINE not in result.err
    assert len(server.chat_requests) == 2
    assert [run["status"] for run in runs(ledger_path)] == ["ok", "ok"]


def test_different_stdin_is_a_different_prompt(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = [*DETERMINISTIC, "summarise this"]
    run_cli(argv, capsys, monkeypatch, stdin=b"first text\n")
    fresh = run_cli(argv, capsys, monkeypatch, stdin=b"second text\n")
    assert REUSED_LINE not in fresh.err
    assert len(server.chat_requests) == 2
    again = run_cli(argv, capsys, monkeypatch, stdin=b"second text\n")
    assert REUSED_LINE in again.err
    assert len(server.chat_requests) == 2


def test_without_temperature_0_reuse_is_off_unless_asked(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_cli(["-m", MODEL, "what is 2+2?"], capsys, monkeypatch)
    run_cli(["-m", MODEL, "what is 2+2?"], capsys, monkeypatch)
    assert len(server.chat_requests) == 2
    forced = run_cli(["-m", MODEL, "--reuse", "what is 2+2?"], capsys, monkeypatch)
    assert REUSED_LINE in forced.err
    assert len(server.chat_requests) == 2


def test_reuse_in_the_config_file(
    server: FakeOpenAIServer,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path.write_text("reuse = true\n", encoding="utf-8")
    run_cli(["-m", MODEL, "what is 2+2?"], capsys, monkeypatch)
    run_cli(["-m", MODEL, "what is 2+2?"], capsys, monkeypatch)
    assert len(server.chat_requests) == 1
    config_path.write_text("reuse = false\n", encoding="utf-8")
    run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    assert len(server.chat_requests) == 3


def test_a_cascade_is_reused_only_with_reuse(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = ["--cheap", MODEL, "--strong", "openai:o4-mini", "--temperature", "0", "2+2?"]
    first = run_cli(argv, capsys, monkeypatch)
    assert first.code == ExitCode.OK
    made = len(server.chat_requests)
    fresh = run_cli(argv, capsys, monkeypatch)
    assert REUSED_LINE not in fresh.err
    assert len(server.chat_requests) == 2 * made
    reused = run_cli([*argv, "--reuse"], capsys, monkeypatch)
    assert REUSED_LINE in reused.err
    assert reused.out == first.out
    assert len(server.chat_requests) == 2 * made
    last = runs(ledger_path)[-1]
    assert (last["status"], last["strategy"]) == ("reused", "cascade")


def test_a_failed_run_is_never_reused(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.script(server_error())
    failed = run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    assert failed.code == ExitCode.PROVIDER
    fresh = run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    assert fresh.code == ExitCode.OK
    assert REUSED_LINE not in fresh.err
    assert len(server.chat_requests) == 2
    assert [run["status"] for run in runs(ledger_path)] == ["error", "ok"]


def test_a_no_log_run_has_nothing_to_reuse_and_says_nothing(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_cli([*DETERMINISTIC, "--no-log", "what is 2+2?"], capsys, monkeypatch)
    fresh = run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    assert fresh.err == ""
    assert len(server.chat_requests) == 2
    hidden, logged = runs(ledger_path)
    assert hidden["fingerprint"] is None  # a prompt's hash is content too
    assert logged["fingerprint"] is not None


def test_an_answer_older_than_the_max_age_is_not_reused(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.ledger_support import finished_run, record
    from think.ledger.store import Ledger

    scratch = ledger_path.with_name("scratch.db")  # where the run's fingerprint is learnt
    with monkeypatch.context() as m:
        m.setenv("THINK_LEDGER", str(scratch))
        run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    (recent,) = runs(scratch)
    with Ledger(ledger_path) as ledger:  # the same run, long ago
        old = finished_run(
            "0123456789abcdef",
            "2020-01-01T00:00:00.000Z",
            answer="The answer is 4.",
            fingerprint=recent["fingerprint"],
        )
        record(ledger, old)
    within = run_cli(
        [*DETERMINISTIC, "--reuse-max-age", "9999w", "--json", "what is 2+2?"],
        capsys,
        monkeypatch,
    )
    assert within.json["reused_from"] == "0123456789abcdef"
    assert len(server.chat_requests) == 1
    fresh = run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)  # default: 7d
    assert REUSED_LINE not in fresh.err
    assert len(server.chat_requests) == 2


def test_a_bad_max_age_is_a_usage_error(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli([*DETERMINISTIC, "--reuse-max-age", "soon", "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert result.err.startswith("think: error: invalid setting reuse_max_age")
    assert server.chat_requests == []


def test_a_reused_run_takes_no_reservation_under_a_cap(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    (original,) = runs(ledger_path)
    # a cap with nothing left: a fresh run would be refused, a reused one costs nothing
    monkeypatch.setenv("THINK_DAILY_BUDGET", str(original["cost_usd"]))
    refused = run_cli([*DETERMINISTIC, "what is 3+3?"], capsys, monkeypatch)
    assert refused.code == ExitCode.SPENDING_CAP
    reused = run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    assert reused.code == ExitCode.OK
    assert reused.out == "The answer is 4.\n"
    assert len(server.chat_requests) == 1


def test_stats_count_what_reuse_saved(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(3):
        run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    original = runs(ledger_path)[0]
    stats = run_cli(["ledger", "stats", "--json"], capsys, monkeypatch)
    total = json.loads(stats.out)["total"]
    assert total["reused"] == 2
    assert total["reuse_saved_usd"] == pytest.approx(2 * original["cost_usd"])
    table = run_cli(["ledger", "stats"], capsys, monkeypatch)
    assert "2 answers reused: reuse saved $" in table.out
    listed = run_cli(["ledger", "--status", "reused", "--json"], capsys, monkeypatch)
    assert [json.loads(line)["reused_from"] for line in listed.out.splitlines()] == [
        original["id"]
    ] * 2


def test_the_python_api_reuses_too(
    server: FakeOpenAIServer, ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import think

    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    first = think.ask("what is 2+2?", model=MODEL, temperature=0)
    second = think.ask("what is 2+2?", model=MODEL, temperature=0)
    assert (first.status, second.status) == ("ok", "reused")
    assert second.reused_from == first.id
    assert second.answer == first.answer
    assert second.cost is not None
    assert second.cost.usd == 0
    assert len(server.chat_requests) == 1
    fresh = think.ask("what is 2+2?", model=MODEL, temperature=0, reuse=False)
    assert fresh.status == "ok"
    assert len(server.chat_requests) == 2


def test_ledger_show_names_the_run_a_reused_answer_came_from(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(2):
        run_cli([*DETERMINISTIC, "what is 2+2?"], capsys, monkeypatch)
    original, reused = runs(ledger_path)
    shown = run_cli(["ledger", "show", reused["id"]], capsys, monkeypatch)
    assert shown.code == ExitCode.OK
    assert f"reused from  run {original['id']} (its answer, at $0)" in shown.out
    assert "reused from" not in run_cli(["ledger", "show", original["id"]], capsys, monkeypatch).out
