"""Fault injection: 200 provider calls against a server that fails at random.

40 ``think -s vote -n 5`` processes (4 at a time) against the loopback OpenAI-compatible
server, which answers each request with a random fault (429 with retry-after or
retry-after-ms, 500, 529, cut stream, stall before or after the headers, error inside a 200
stream) or a normal answer. Prints what the server served, how the calls ended, the exit
codes, and the ledger checks. Run from the repository root:
``.venv/bin/python benchmarks/fault_injection.py [SEED]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.faults import run_fault_injection


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    report = run_fault_injection(runs=40, samples=5, seed=seed)
    print(f"fault injection, seed {seed}: {report.runs} runs, {report.seconds:.1f} s\n")
    print(f"{'served by the server (per HTTP request)':44} {'count':>6}")
    for name, count in report.faults.most_common():
        print(f"  {name:42} {count:>6}")
    print(f"  {'total requests':42} {report.http_requests:>6}\n")
    print(f"{'calls in the ledger, by status':44} {'count':>6}")
    for status, count in report.call_statuses.most_common():
        print(f"  {status:42} {count:>6}")
    for error, count in report.call_errors.most_common():
        print(f"    {error[:40]:40} {count:>6}")
    print(f"\n{'exit code':44} {'runs':>6}")
    for code, count in sorted(report.exit_codes.items()):
        print(f"  {code:<42} {count:>6}")
    checks = [
        ("runs in the ledger", f"{report.runs_in_ledger} of {report.runs}"),
        ("calls in the ledger (distinct ids)", f"{report.distinct_call_ids} of 200"),
        ("runs missing a call record", str(report.runs_with_wrong_call_count)),
        (
            "attempts recorded / requests served",
            f"{report.attempts_recorded} / {report.http_requests}",
        ),
        ("tracebacks printed", str(report.tracebacks)),
        ("undocumented exit codes", str(report.unknown_exit_codes)),
        ("all checks pass", "yes" if report.clean else "NO"),
    ]
    print()
    for name, value in checks:
        print(f"{name:44} {value:>10}")


if __name__ == "__main__":
    main()
