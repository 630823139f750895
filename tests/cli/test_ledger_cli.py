"""``think ledger`` and its subcommands on a ledger of known runs: filters, search, show,
stats, the output formats, export, backup, prune, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli_support import assert_one_error_line, run_cli, runs
from tests.ledger_support import LEDGER_TABLE_COLUMNS, finished_run, make_call, record
from think.errors import ExitCode
from think.ledger.schema import CALL_COLUMNS, RUN_COLUMNS
from think.ledger.store import Ledger
from think.periods import iso
from think.pricing import Cost
from think.usage import Usage

NOW = datetime.now(UTC)
CASCADE = "aaaa1111aaaa1111"  # escalated, 3 days ago
CASCADE_OK = "aaaa2222aaaa2222"  # accepted, 10 days ago
SINGLE = "bbbb3333bbbb3333"  # 1 day ago
FAILED = "cccc4444cccc4444"  # now
STRONG = "openai:o4-mini"


def ago(days: float) -> str:
    return iso(NOW - timedelta(days=days))


def cost(usd: str) -> Cost:
    return Cost(Decimal(usd), "computed")


def fill(path: Path | str) -> None:
    ledger = Ledger(path)
    try:
        cheap = [
            make_call(CASCADE, seq, stage="cheap", started_at=ago(3), cost=cost("0.001"))
            for seq in (1, 2)
        ]
        strong = make_call(
            CASCADE,
            3,
            stage="escalate",
            model="o4-mini",
            started_at=ago(3),
            texts=("x^3/3 + C",),
            reasoning="Integrate term by term: the power rule gives x cubed over three.",
            usage=Usage(input_tokens=30, output_tokens=200, reasoning_tokens=150),
            cost=cost("0.018"),
            ttft_ms=900,
            latency_ms=4200,
        )
        record(
            ledger,
            finished_run(
                CASCADE,
                ago(3),
                "0.02",
                strategy="cascade",
                prompt="What is the integral of x squared?",
                answer="x^3/3 + C",
                answer_model=STRONG,
                votes={"x^3/3": 1, "x^2/2": 1},
                agreement=0.5,
                escalated=True,
                escalation_reason="disagreement: 1/2 agree (needs 3 of 4)",
                strong_only_cost_usd=Decimal("0.05"),
                stages=("cheap", "check", "escalate"),
                calls=3,
            ),
            *cheap,
            strong,
        )
        record(
            ledger,
            finished_run(
                CASCADE_OK,
                ago(10),
                "0.002",
                strategy="cascade",
                prompt="List the prime numbers below ten",
                answer="2, 3, 5, 7",
                votes={"2,3,5,7": 3},
                agreement=1.0,
                escalation_reason="accepted: 3/3 agree",
                strong_only_cost_usd=Decimal("0.01"),
                stages=("cheap", "check"),
            ),
            make_call(CASCADE_OK, 1, stage="cheap", started_at=ago(10), cost=cost("0.002")),
        )
        record(
            ledger,
            finished_run(SINGLE, ago(1), "0.001", prompt="What is the capital of France?"),
            make_call(SINGLE, 1, started_at=ago(1), texts=("Paris",), cost=cost("0.001")),
        )
        ledger.record_run(
            finished_run(
                FAILED,
                ago(0.01),
                "0",
                status="error",
                exit_code=3,
                prompt="a broken request",
                answer=None,
                error="openai: 500 server error",
                answer_model=None,
                calls=0,
            )
        )
    finally:
        ledger.close()


@pytest.fixture
def filled(ledger_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COLUMNS", "200")
    fill(ledger_path)
    return ledger_path


def ids_listed(out: str) -> list[str]:
    return [json.loads(line)["id"] for line in out.splitlines()]


def ledger_json(
    argv: list[str], capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch
) -> list[str]:
    result = run_cli(["ledger", *argv, "--json"], capsys, mp)
    assert result.code == ExitCode.OK, result.err
    return ids_listed(result.out)


# ----------------------------------------------------------------------------------------
# Listing and filters


def test_model_filter_matches_the_answering_model_of_a_run_without_calls(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = Ledger(ledger_path)
    try:  # a run whose calls are gone: only its answer_model names the model
        ledger.record_run(
            finished_run(SINGLE, ago(1), "0.001", answer_model="anthropic:claude-haiku-4-5")
        )
    finally:
        ledger.close()
    for name in ("anthropic:claude-haiku-4-5", "claude-haiku-4-5"):
        assert ledger_json(["--model", name], capsys, monkeypatch) == [SINGLE]
    for name in ("haiku-4-5", "anthropic", "openai:claude-haiku-4-5"):
        assert ledger_json(["--model", name], capsys, monkeypatch) == []


def test_filters(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def ids(*argv: str) -> list[str]:
        return ledger_json(list(argv), capsys, monkeypatch)

    assert ids() == [FAILED, SINGLE, CASCADE, CASCADE_OK]
    assert ids("-n", "2") == [FAILED, SINGLE]
    assert ids("--since", "2d") == [FAILED, SINGLE]
    assert ids("--since", iso(NOW - timedelta(days=5))[:10]) == [FAILED, SINGLE, CASCADE]
    assert ids("--model", "o4-mini") == [CASCADE]
    assert ids("--model", STRONG) == [CASCADE]
    assert ids("--model", "openai:gpt-4o-mini") == [SINGLE, CASCADE, CASCADE_OK]
    assert ids("--status", "error") == [FAILED]
    assert ids("--escalated") == [CASCADE]
    assert ids("--not-escalated", "--since", "5d") == [FAILED, SINGLE]
    assert ids("-q", "france") == [SINGLE]
    assert ids("-q", "Paris") == []  # only the run's answer is indexed, not call texts
    assert ids("-q", "prime numbers") == [CASCADE_OK]
    assert ids("-q", "numbers prime") == [CASCADE_OK]  # words in any order
    assert ids("-q", "integ*") == [CASCADE]  # a prefix
    assert ids("-q", "x^3/3") == [CASCADE]  # FTS syntax characters are taken literally
    assert ids("-q", 'what "is') == [CASCADE, SINGLE] or ids("-q", 'what "is') == [
        SINGLE,
        CASCADE,
    ]
    assert ids("-q", "capital", "--status", "ok", "--since", "7d") == [SINGLE]
    assert ids("-q", "nothing-like-this") == []


def test_answers_are_searchable(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = Ledger(filled)
    try:
        ledger.record_run(finished_run("dddd", ago(0.5), answer="The Eiffel Tower is 330 m"))
    finally:
        ledger.close()
    assert ledger_json(["-q", "eiffel"], capsys, monkeypatch) == ["dddd"]


def test_bad_filters_are_one_line_usage_errors(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for argv, message in (
        (["--since", "last tuesday"], "--since"),
        (["--status", "great"], "--status"),
        (["-q", "   "], "-q"),
        (["--json", "--csv"], "one of --json and --csv"),
    ):
        result = run_cli(["ledger", *argv], capsys, monkeypatch)
        assert result.code == ExitCode.USAGE, argv
        assert result.out == ""
        assert_one_error_line(result.err, message)


def test_table_fits_80_columns(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = run_cli(["ledger"], capsys, monkeypatch, tty=True)
    lines = result.out.splitlines()
    assert lines[0].split() == LEDGER_TABLE_COLUMNS
    assert all(len(line) <= 80 for line in lines), result.out
    escalated = next(line for line in lines if CASCADE[:8] in line)
    assert " cascade " in escalated
    assert " o4-mini " in escalated
    assert " 1/2 " in escalated
    assert " yes " in escalated
    assert "$0.02" in escalated.split()
    assert "What is the" in escalated  # some of the prompt is left at 80 columns
    assert "no runs match" in run_cli(["ledger", "-q", "zzz"], capsys, monkeypatch).out


def test_csv(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["ledger", "--csv", "--escalated"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    (row,) = list(csv.DictReader(io.StringIO(result.out)))
    assert list(row) == list(RUN_COLUMNS)
    assert row["id"] == CASCADE
    assert float(row["cost_usd"]) == pytest.approx(0.02)
    assert json.loads(row["votes"]) == {"x^3/3": 1, "x^2/2": 1}


def test_json_lines_decode_json_columns(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["ledger", "--json", "--escalated"], capsys, monkeypatch)
    (row,) = [json.loads(line) for line in result.out.splitlines()]
    assert row["votes"] == {"x^3/3": 1, "x^2/2": 1}
    assert row["stages"] == ["cheap", "check", "escalate"]
    assert row["models"] == ["openai:gpt-4o-mini"]


# ----------------------------------------------------------------------------------------
# show


def test_show_by_prefix(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["ledger", "show", "aaaa1"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    out = result.out
    for expected in (
        CASCADE,
        "cascade",
        "cheap → check → escalate",
        "'x^3/3' ×1",
        "disagreement: 1/2 agree (needs 3 of 4)",
        "$0.02 (computed)",
        "strong alone",
        "saved $0.03",
        "What is the integral of x squared?",
        "x^3/3 + C",
        "reasoning (call 3, openai:o4-mini)",
        "Integrate term by term",
    ):
        assert expected in out, expected
    calls = [line for line in out.splitlines() if line.lstrip()[:2] in ("1 ", "2 ", "3 ")]
    assert len(calls) == 3
    assert "escalate" in calls[2]
    assert "o4-mini" in calls[2]
    assert "4.20s" in calls[2]  # latency
    assert "0.90s" in calls[2]  # time to first token
    assert " 150 " in calls[2]  # reasoning tokens


def test_show_json_and_csv(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["ledger", "show", CASCADE, "--json"], capsys, monkeypatch)
    document = result.json
    assert document["run"]["id"] == CASCADE
    assert document["run"]["escalated"] == 1
    assert [call["seq"] for call in document["calls"]] == [1, 2, 3]
    assert document["calls"][2]["reasoning"].startswith("Integrate")
    result = run_cli(["ledger", "show", CASCADE, "--csv"], capsys, monkeypatch)
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert list(rows[0]) == list(CALL_COLUMNS)
    assert [row["stage"] for row in rows] == ["cheap", "cheap", "escalate"]


def test_show_errors(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["ledger", "show", "aaaa"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "ambiguous")
    assert CASCADE in result.err
    assert CASCADE_OK in result.err
    result = run_cli(["ledger", "show", "ffff"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "no run 'ffff'")


# ----------------------------------------------------------------------------------------
# stats


def test_stats_totals_escalation_and_savings(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["ledger", "stats", "--json"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    document = result.json
    total = document["total"]
    assert total["runs"] == 4
    assert total["spent_usd"] == pytest.approx(0.023)
    assert total["avg_usd_per_run"] == pytest.approx(0.023 / 4)
    assert (total["cascades"], total["escalated"]) == (2, 1)
    assert total["escalation_rate"] == pytest.approx(0.5)
    assert total["strong_alone_usd"] == pytest.approx(0.06)
    assert total["saved_usd"] == pytest.approx(0.06 - 0.022)
    days = document["rows"]
    assert len(days) == 4  # four different local days
    assert sum(day["spent_usd"] for day in days) == pytest.approx(0.023)
    assert [day["day"] for day in days] == sorted(day["day"] for day in days)


def test_stats_groupings(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def rows(*argv: str) -> list[dict[str, object]]:
        result = run_cli(["ledger", "stats", "--json", *argv], capsys, monkeypatch)
        assert result.code == ExitCode.OK, result.err
        return list(result.json["rows"])

    by_model = rows("--by", "model")
    assert [(r["model"], r["calls"]) for r in by_model] == [
        (STRONG, 1),
        ("openai:gpt-4o-mini", 4),
    ]
    assert by_model[0]["spent_usd"] == pytest.approx(0.018)
    assert by_model[1]["share"] == pytest.approx(0.005 / 0.023)
    (provider,) = rows("--by", "provider")
    assert provider["spent_usd"] == pytest.approx(0.023)
    by_strategy = {r["strategy"]: r for r in rows("--by", "strategy")}
    assert by_strategy["cascade"]["runs"] == 2
    assert by_strategy["cascade"]["saved_usd"] == pytest.approx(0.038)
    assert by_strategy["single"]["saved_usd"] is None
    assert sum(int(r["runs"]) for r in rows("--by", "week")) == 4  # type: ignore[call-overload]
    recent = rows("--since", "2d")
    assert sum(int(r["runs"]) for r in recent) == 2  # type: ignore[call-overload]


def test_stats_table_and_csv(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = run_cli(["ledger", "stats"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    out = result.out
    assert "4 runs since " in out  # the table covers the last 30 days by default
    assert ": $0.023 spent" in out
    assert "escalated 1/2 50% of cascade runs" in out
    assert "saved $0.038" in out
    assert "█" in out  # the bar chart
    assert all(len(line) <= 80 for line in out.splitlines()), out
    result = run_cli(["ledger", "stats", "--by", "strategy", "--csv"], capsys, monkeypatch)
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert {row["strategy"] for row in rows} == {"cascade", "single"}
    result = run_cli(["ledger", "stats", "--by", "hour"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "--by")


def test_stats_on_an_empty_ledger(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["ledger", "stats"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert "0 runs since " in result.out
    assert ": $0.00 spent" in result.out
    assert run_cli(["ledger", "stats", "--json"], capsys, monkeypatch).json["total"]["runs"] == 0


# ----------------------------------------------------------------------------------------
# export, backup, prune, path


def test_export_jsonl(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["ledger", "export"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    documents = [json.loads(line) for line in result.out.splitlines()]
    assert [d["run"]["id"] for d in documents] == [CASCADE_OK, CASCADE, SINGLE, FAILED]
    assert [len(d["calls"]) for d in documents] == [1, 3, 1, 0]
    assert documents[1]["calls"][2]["reasoning"].startswith("Integrate")
    assert set(documents[0]["run"]) == set(RUN_COLUMNS)


def test_export_csv(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["ledger", "export", "--format", "csv"], capsys, monkeypatch)
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert list(rows[0]) == [f"run_{c}" for c in RUN_COLUMNS] + [f"call_{c}" for c in CALL_COLUMNS]
    assert [(r["run_id"], r["call_seq"]) for r in rows] == [
        (CASCADE_OK, "1"),
        (CASCADE, "1"),
        (CASCADE, "2"),
        (CASCADE, "3"),
        (SINGLE, "1"),
        (FAILED, ""),
    ]
    result = run_cli(["ledger", "export", "--format", "xml"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "--format")


def test_backup(
    filled: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer = sqlite3.connect(filled, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
        writer.execute("UPDATE runs SET status = 'error' WHERE id = ?", [SINGLE])
        target = tmp_path / "copy.db"
        result = run_cli(["ledger", "backup", str(target)], capsys, monkeypatch)
        writer.execute("ROLLBACK")
    finally:
        writer.close()
    assert result.code == ExitCode.OK, result.err
    assert result.out == f"backed up 4 runs to {target}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert {r["id"]: r["status"] for r in runs(target)}[SINGLE] == "ok"  # committed state only
    again = run_cli(["ledger", "backup", str(target)], capsys, monkeypatch)
    assert again.code == ExitCode.NOT_RECORDED
    assert_one_error_line(again.err, "exists")


def _bytes(path: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
    )


def test_prune(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert b"prime numbers below ten" in _bytes(filled)
    cutoff = iso(NOW - timedelta(days=5))
    declined = run_cli(["ledger", "prune", "--before", cutoff], capsys, monkeypatch, stdin=b"n\n")
    assert declined.code == ExitCode.OK
    assert "delete 1 runs started before" in declined.err
    assert declined.out == "nothing deleted\n"
    assert len(runs(filled)) == 4
    confirmed = run_cli(["ledger", "prune", "--before", "5d"], capsys, monkeypatch, stdin=b"y\n")
    assert confirmed.code == ExitCode.OK
    assert confirmed.out.startswith("deleted 1 runs and 1 calls started before")
    assert CASCADE_OK not in {r["id"] for r in runs(filled)}
    assert b"prime numbers below ten" not in _bytes(filled)  # overwritten, not just unlinked
    forced = run_cli(["ledger", "prune", "--before", "2d", "--yes"], capsys, monkeypatch)
    assert forced.out.startswith("deleted 1 runs and 3 calls")
    nothing = run_cli(["ledger", "prune", "--before", "2000-01-01", "-y"], capsys, monkeypatch)
    assert nothing.out.startswith("no runs before 2000-01-01")
    no_answer = run_cli(["ledger", "prune", "--before", "1h"], capsys, monkeypatch, stdin=b"")
    assert no_answer.out == "nothing deleted\n"
    assert len(runs(filled)) == 2


def test_path_follows_the_config_file(
    ledger_path: Path,
    config_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("THINK_LEDGER")
    elsewhere = tmp_path / "elsewhere.db"
    config_path.write_text(f'ledger = "{elsewhere}"\n', encoding="utf-8")
    assert run_cli(["ledger", "path"], capsys, monkeypatch).out == f"{elsewhere}\n"
    monkeypatch.setenv("THINK_LEDGER", str(ledger_path))
    assert run_cli(["ledger", "path"], capsys, monkeypatch).out == f"{ledger_path}\n"
    monkeypatch.setenv("THINK_LEDGER_TIMEOUT", "soon")
    result = run_cli(["ledger"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "ledger_timeout")


def test_a_config_broken_after_a_good_check_is_still_caught(
    ledger_path: Path,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path.write_text("max_tokens = 500\n", encoding="utf-8")
    assert run_cli(["ledger"], capsys, monkeypatch).code == ExitCode.OK  # checked and recorded
    assert run_cli(["ledger"], capsys, monkeypatch).code == ExitCode.OK  # the quick path
    config_path.write_text("max_tokens = 0\n", encoding="utf-8")
    result = run_cli(["ledger"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert "max_tokens" in result.err
    monkeypatch.setenv("THINK_SAMPLES", "none")
    config_path.write_text("max_tokens = 500\n", encoding="utf-8")
    assert run_cli(["ledger", "path"], capsys, monkeypatch).code == ExitCode.USAGE


def test_savings_count_only_runs_that_answered(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = iso(datetime.now(UTC))
    ledger = Ledger(ledger_path)
    try:
        for run_id, status, cost, alone in (
            ("a1", "ok", "0.002", "0.01"),
            ("a2", "error", "0.001", "0.05"),  # a worst case for an answer nobody got
            ("a3", "budget_exhausted", "0.0005", "0.05"),
        ):
            record(
                ledger,
                finished_run(
                    run_id,
                    now,
                    cost,
                    status=status,
                    strategy="cascade",
                    strong_only_cost_usd=Decimal(alone),
                ),
            )
    finally:
        ledger.close()
    total = run_cli(["ledger", "stats", "--json"], capsys, monkeypatch).json["total"]
    assert total["spent_usd"] == pytest.approx(0.0035)  # every run's spend counts
    assert total["strong_alone_usd"] == pytest.approx(0.01)
    assert total["saved_usd"] == pytest.approx(0.008)
    shown = run_cli(["ledger", "show", "a2"], capsys, monkeypatch).out
    assert "saved" not in shown
    assert "the run did not answer: no saving counted" in shown
    assert "(saved $0.008)" in run_cli(["ledger", "show", "a1"], capsys, monkeypatch).out
