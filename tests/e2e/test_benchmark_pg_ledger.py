"""benchmarks/pg_ledger.py runs end to end at small sizes (so it cannot rot unseen):
reservations on both engines, a COPY fill that every ledger command reads, the plans."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.paths import REPO_ROOT
from tests.postgres_support import PgServer


def benchmark(script: str, pg_server: PgServer, *args: str) -> str:
    """What ``benchmarks/SCRIPT ARGS`` prints against the test server (it must succeed)."""
    argv = [sys.executable, str(REPO_ROOT / "benchmarks" / script), *args]
    done = subprocess.run(
        [*argv, "--pg-url", pg_server.url()],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_pg_ledger_benchmark_runs_at_small_sizes(pg_server: PgServer) -> None:
    sizes = ["--runs", "2000", "--procs", "2", "--reservations", "5", "--repeat", "1"]
    out = benchmark("pg_ledger.py", pg_server, *sizes)
    assert "(a) reserve + settle, 5 reservations per process" in out
    for engine in ("sqlite", "postgresql"):
        rows = [line.split() for line in out.splitlines() if line.startswith(engine + " ")]
        assert [row[1] for row in rows] == ["1", "2"]  # processes
        assert [row[3] for row in rows] == ["0", "0"]  # refused: none
    assert "(b) filled 2,000 runs and " in out
    assert "think ledger stats --json (all 90 days)" in out
    assert out.count("EXPLAIN ANALYZE") == 4
    assert "idx_runs_user" in out  # the --user listing reads migration 9's index
    assert "without idx_runs_user" in out


def test_the_cap_isolation_benchmark_holds_the_cap_both_ways(pg_server: PgServer) -> None:
    """benchmarks/pg_cap_isolation.py at small sizes: the advisory lock and SERIALIZABLE each
    let exactly the runs that fit under the cap through, and say so."""
    sizes = ["--procs", "2", "--reservations", "8", "--hold", "0", "--cap", "1.00"]
    out = benchmark("pg_cap_isolation.py", pg_server, *sizes)
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    for mode in ("advisory", "serializable"):
        _, _, reserved, refused, _, failed, spent, held = rows[mode]
        assert (reserved, refused, failed, spent, held) == ("10", "6", "0", "1.00", "yes")
