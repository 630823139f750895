"""Run and call records for ledger tests, and a ledger filled with them."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from tests.cli_support import MODEL, start_think
from think import events
from think.errors import ExitCode
from think.ledger.store import Ledger
from think.pricing import Cost
from think.usage import Usage

LEDGER_TABLE_COLUMNS = [
    "time",
    "run",
    "status",
    "strategy",
    "model",
    "agree",
    "esc",
    "cost",
    "prompt",
]
"""The header of ``think ledger``'s table."""


def make_run(run_id: str = "r1", **changes: object) -> events.RunRecord:
    fields: dict[str, object] = {
        "id": run_id,
        "started_at": "2025-01-02T03:04:05.000Z",
        "prompt": "what is 2+2?",
        "strategy": "single",
        "status": "running",
        "models": (MODEL,),
        "max_cost_usd": Decimal("0.5"),
    }
    fields.update(changes)
    return events.RunRecord(**fields)  # type: ignore[arg-type]


def make_call(run_id: str = "r1", seq: int = 1, **changes: object) -> events.CallRecord:
    fields: dict[str, object] = {
        "id": f"{run_id}-{seq}",
        "run_id": run_id,
        "seq": seq,
        "stage": "answer",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "started_at": "2025-01-02T03:04:05.100Z",
        "status": "ok",
        "latency_ms": 120,
        "ttft_ms": 40,
        "n": 1,
        "texts": ("4",),
        "reasoning": "",
        "finish_reasons": ("stop",),
        "usage": Usage(input_tokens=10, output_tokens=2, source="reported"),
        "usage_source": "reported",
        "cost": Cost(Decimal("0.0000027"), "computed"),
        "attempts": 1,
    }
    fields.update(changes)
    return events.CallRecord(**fields)  # type: ignore[arg-type]


def finished_run(
    run_id: str, started_at: str, cost: str = "0.01", **changes: object
) -> events.RunRecord:
    """A finished, successful run record that cost ``cost`` USD."""
    fields: dict[str, object] = {
        "started_at": started_at,
        "status": "ok",
        "finished_at": started_at,
        "duration_ms": 1500,
        "answer": "4",
        "answer_model": MODEL,
        "exit_code": 0,
        "cost": Cost(Decimal(cost), "computed"),
        "usage": Usage(input_tokens=10, output_tokens=2),
        "calls": 1,
    }
    fields.update(changes)
    return make_run(run_id, **fields)


def record(ledger: Ledger, run: events.RunRecord, *calls: events.CallRecord) -> None:
    """Write a run and its calls as ``think`` does: start, calls, end."""
    ledger.record_run(dataclasses.replace(run, status="running"))
    for call in calls:
        ledger.record_call(call)
    ledger.record_run(run)


def runs_under_a_daily_cap(
    monkeypatch: pytest.MonkeyPatch, count: int, budget: str, max_cost: str, hosts: int = 0
) -> list[int]:
    """``count`` ``think`` processes at once, each asking ``--max-cost`` under one
    ``daily_budget`` (``hosts``: standing for that many machines, ``THINK_HOST`` host-0 …);
    their exit codes (each answered, or refused before spending)."""
    monkeypatch.setenv("THINK_DAILY_BUDGET", budget)
    argv = ["-m", MODEL, "--max-cost", max_cost]
    procs = [
        start_think([*argv, f"q{i}"], {"THINK_HOST": f"host-{i % hosts}"} if hosts else None)
        for i in range(count)
    ]
    outcomes = [proc.communicate(timeout=180) for proc in procs]
    codes = [proc.returncode for proc in procs]
    assert set(codes) <= {ExitCode.OK, ExitCode.SPENDING_CAP}, [err for _, err in outcomes]
    assert ExitCode.OK in codes
    return codes


def assert_within_the_cap(recorded: list[dict[str, Any]], codes: list[int], budget: str) -> None:
    """Only the answered runs are recorded, none holds a reservation, and together they
    spent no more than the cap."""
    assert len(recorded) == codes.count(ExitCode.OK)
    assert sum(Decimal(repr(run["cost_usd"])) for run in recorded) <= Decimal(budget)
    assert all(run["reserved_usd"] is None for run in recorded)
    assert all(run["status"] == "ok" for run in recorded)
