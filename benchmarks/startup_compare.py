"""Startup of two versions of think's source side by side, runs interleaved (a noisy machine
slows both alike): ``--version``, ``--help`` and ``ledger -n 5``, median wall time of N runs
of each, and the ratio. Both run on this venv's interpreter and dependencies.

    git worktree add /tmp/base <commit>
    .venv/bin/python benchmarks/startup_compare.py /tmp/base . [--runs 25]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {"--version": ["--version"], "--help": ["--help"], "ledger -n 5": ["ledger", "-n", "5"]}
ENTRY = "import sys; sys.argv = ['think', *sys.argv[1:]]; from think.cli.entry import main; main()"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    roots = {"before": args.before.resolve(), "after": args.after.resolve()}
    times: dict[tuple[str, str], list[float]] = {(r, c): [] for r in roots for c in COMMANDS}
    for _ in range(args.runs):
        for command, argv in COMMANDS.items():
            for label, root in roots.items():
                env = {**os.environ, "PYTHONPATH": str(root)}
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-c", ENTRY, *argv],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    check=False,
                )
                times[(label, command)].append(time.perf_counter() - start)
    print(f"{'command':<14}{'before s':>10}{'after s':>10}{'after/before':>14}")
    for command in COMMANDS:
        before, after = (statistics.median(times[(r, command)]) for r in roots)
        print(f"{command:<14}{before:>10.3f}{after:>10.3f}{after / before:>14.2f}")


if __name__ == "__main__":
    main()
