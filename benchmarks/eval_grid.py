"""The default grid on recorded GSM8K answers: the full accuracy-against-cost table, the
Pareto frontier and its power-law fit, the PNG, and the time 1,000 questions take.

Runs the installed ``think eval`` as a subprocess (fresh results file each time) and
prints the table. Needs ../shared/replay/gsm8k.jsonl. Run from the repository root:
``.venv/bin/python benchmarks/eval_grid.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GSM8K = ROOT.parent / "shared" / "replay" / "gsm8k.jsonl"
THINK = str(Path(sys.executable).with_name("think"))
MODELS = ["--cheap", "replay:gpt-3.5-turbo", "--strong", "replay:gpt-4"]


def eval_grid(limit: int | None, *extra: str) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "THINK_EVAL_DIR": tmp, "COLUMNS": "100"}
        command = [THINK, "eval", str(GSM8K), *MODELS, "--grid", "default", *extra]
        if limit:
            command += ["--limit", str(limit)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        return time.perf_counter() - start, done.stdout


def main() -> None:
    if not GSM8K.exists():
        sys.exit(f"{GSM8K} is missing")
    seconds, _ = eval_grid(1000, "--json")
    print(f"1,000 questions over the default grid: {seconds:.1f} s\n")
    png = ROOT / "benchmarks" / "gsm8k_frontier.png"
    seconds, table = eval_grid(None, "--plot", str(png))
    print(table)
    print(f"all 1,319 questions: {seconds:.1f} s; plot written to {png.relative_to(ROOT)}")
    _, document = eval_grid(None, "--json")
    fit = json.loads(document)["fit"]
    print(f"fit over the frontier: accuracy ≈ {fit['a']} · compute^{fit['alpha']}")


if __name__ == "__main__":
    main()
