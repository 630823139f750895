"""Hostile flags and values: out-of-range numbers are usage errors, ``--json`` is always
RFC 8259 JSON, and listing the ledger reads only what it shows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import MODEL, assert_one_error_line, run_cli, use_server
from tests.fakes.openai_server import FakeOpenAIServer
from think.errors import ExitCode


def strict_json(text: str) -> Any:
    """``text`` parsed as RFC 8259 JSON: ``Infinity`` and ``NaN`` are refused."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["ledger", "-n", "99999999999999999999"],
            "-n/--limit: 99999999999999999999 is out of range",
        ),
        (["ledger", "-n", "0"], "give 1 to 1_000_000_000"),
        (["ledger", "--since", "99999999d"], "--since: '99999999d' is out of range"),
        (["ledger", "stats", "--since", "99999999d"], "reaches back at most"),
        (["ledger", "export", "--since", "9999999999w"], "out of range"),
        (["ledger", "prune", "--before", "99999999d"], "--before: '99999999d' is out of range"),
    ],
)
def test_out_of_range_numbers_are_usage_errors_with_the_accepted_range(
    argv: list[str],
    message: str,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(argv, capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, message)


def test_json_output_is_rfc_8259_even_when_a_server_reports_an_infinite_cost(
    fake_openai: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_server(monkeypatch, fake_openai)
    fake_openai.report_cost = float("inf")  # sent as `"cost": Infinity`
    asked = run_cli(["--json", "-m", MODEL, "hi"], capsys, monkeypatch)
    document = strict_json(asked.out)
    # a reported cost that is not finite is not believed: the price's cost stands
    assert isinstance(document["cost_usd"], float)
    assert 0 < document["cost_usd"] < 0.001
    run_id = document["run_id"]
    for argv in (
        ["ledger", "--json"],
        ["ledger", "show", run_id, "--json"],
        ["ledger", "stats", "--json"],
        ["ledger", "stats", "--by", "model", "--json"],
        ["ledger", "export"],
    ):
        result = run_cli(argv, capsys, monkeypatch)
        assert result.code == ExitCode.OK, (argv, result.err)
        lines = result.out.splitlines()
        assert lines, argv
        for line in lines:
            strict_json(line)


HUGE = 2_000_000
"""Characters of each huge prompt (and answer) in the listing tests."""


def test_listing_runs_with_huge_prompts_reads_only_the_excerpts_it_shows(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten runs of 2 MB prompts: ``think ledger`` shows 200-character excerpts and holds
    about that much of each (it once read 40 MB: every prompt and answer whole)."""
    import tracemalloc

    from tests.ledger_support import make_run
    from think.ledger.store import Ledger

    with Ledger(ledger_path) as ledger:
        for number in range(10):
            prompt = f"question {number} " + "x" * HUGE
            ledger.record_run(
                make_run(f"r{number:02d}", status="ok", prompt=prompt, answer="y" * HUGE)
            )
    assert run_cli(["ledger"], capsys, monkeypatch).code == ExitCode.OK  # imports done
    tracemalloc.start()
    try:
        result = run_cli(["ledger", "-n", "10"], capsys, monkeypatch)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.code == ExitCode.OK, result.err
    assert "question 9 xxx" in result.out
    assert peak < HUGE, f"peak {peak:_} bytes"  # not even one whole prompt

    shown = run_cli(["ledger", "show", "r03"], capsys, monkeypatch)  # the whole prompt
    assert "question 3 " + "x" * HUGE in shown.out.replace("\n", "")


def test_listing_by_search_reads_only_the_excerpts_too(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.ledger_support import make_run
    from think.ledger.store import Ledger

    with Ledger(ledger_path) as ledger:
        ledger.record_run(make_run("r1", status="ok", prompt="needle " + "x" * HUGE))
    statements: list[str] = []
    real_connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    result = run_cli(["ledger", "-q", "needle"], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    assert "needle xxx" in result.out
    selects = [s for s in statements if "FROM runs WHERE rowid IN" in s]
    assert selects
    assert all("SELECT *" not in s and "substr(prompt" in s for s in selects)
