"""``think ledger push``: a local ledger's history copied into a team's PostgreSQL ledger.

Fills a SQLite ledger with N synthetic runs (``benchmarks/ledger.py``'s runs and calls),
starts a throwaway PostgreSQL cluster on a loopback port (the tests' one), and times
``think ledger push --to URL`` as a subprocess twice: the first copies everything, the second
finds everything there and copies nothing.

Run from the repository root: ``.venv/bin/python benchmarks/ledger_push.py [--runs 10000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ledger import fill  # noqa: E402  (benchmarks/ledger.py)

from tests.postgres_support import server_binaries, throwaway_cluster  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    binaries = server_binaries()
    if binaries is None:
        sys.exit("PostgreSQL's initdb is not installed (/usr/lib/postgresql/*/bin)")
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster(binaries) as server:
        local = Path(tmp) / "ledger.db"
        calls = fill(local, args.runs)
        print(f"local ledger: {args.runs:,} runs, {calls:,} calls")
        env = {**os.environ, "THINK_LEDGER": str(local), "THINK_CONFIG": str(Path(tmp) / "x")}
        command = [sys.executable, "-m", "think", "ledger", "push", "--to", server.url(), "--json"]
        for attempt in ("first push", "second push"):
            start = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            wall = time.perf_counter() - start
            counts = json.loads(done.stdout)
            print(
                f"{attempt:<12} {wall:6.1f} s  copied {counts['runs_copied']:,} runs "
                f"{counts['calls_copied']:,} calls; already there {counts['runs_already_there']:,}"
                f" runs {counts['calls_already_there']:,} calls"
            )
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
