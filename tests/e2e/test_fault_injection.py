"""200 provider calls against a server that fails at random: clean exits, a complete ledger.

See tests/fakes/faults.py for the fault mix and what is checked; benchmarks/fault_injection.py
prints the same run as a table.
"""

from __future__ import annotations

from tests.fakes.faults import FAULT_MIX, run_fault_injection
from think.errors import ExitCode


def test_two_hundred_faulty_calls_end_cleanly_with_one_ledger_record_each() -> None:
    report = run_fault_injection(runs=40, samples=5, seed=7)
    assert report.calls_made == 200
    assert report.distinct_call_ids == 200
    assert report.runs_in_ledger == 40
    assert report.runs_with_wrong_call_count == 0
    assert report.tracebacks == 0
    assert set(report.exit_codes) <= {ExitCode.OK, ExitCode.PROVIDER}
    assert report.attempts_recorded >= report.http_requests > 200  # retries happened
    assert set(report.faults) == set(FAULT_MIX)  # every kind of fault was served
    assert report.call_statuses["cut"] > 0
    assert report.call_statuses["error"] > 0
    assert report.clean
