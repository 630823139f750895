"""Accuracy against cost on recorded answers: the default strategies and cascade policies.

Runs ``think eval`` (the real strategy code, replay: models) on ../shared/replay/gsm8k.jsonl
(or the file given) and prints the four-row comparison, then the cascade under several
agreement policies ("k of n": accept when k of up to n cheap samples agree).
Run from the repository root: ``.venv/bin/python benchmarks/replay_eval.py [FILE]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = ROOT.parent / "shared" / "replay" / "gsm8k.jsonl"
POLICIES = [  # (initial, max samples, agreement) -> "k of n"
    (2, 2, 1.0),
    (3, 3, 1.0),
    (2, 3, 0.66),
    (2, 4, 0.75),
    (2, 4, 1.0),
    (2, 5, 0.6),
    (2, 5, 0.8),
]


def evaluate(dataset: Path, env: dict[str, str]) -> dict[str, dict[str, float]]:
    think = Path(sys.executable).with_name("think")
    command = [str(think), "eval", str(dataset), "--json"]
    command += ["--cheap", "replay:gpt-3.5-turbo", "--strong", "replay:gpt-4"]
    # A fresh results directory: a `think eval` that resumes kept results must not hand one
    # policy's runs to another (THINK_EVAL_DIR is ignored by versions that keep none).
    with tempfile.TemporaryDirectory() as results:
        result = subprocess.run(
            command,
            env={**os.environ, **env, "THINK_EVAL_DIR": results},
            capture_output=True,
            text=True,
            check=True,
        )
    document = json.loads(result.stdout)
    return {row["strategy"]: row for row in document["strategies"]}


def line(name: str, row: dict[str, float]) -> str:
    return (
        f"{name:<24} {row['accuracy']:>8.2%} {row['mean_cost_usd']:>11.6f} "
        f"{row['escalation_rate']:>10.1%} {row['cost_vs_strong']:>9.1%}"
    )


def main() -> None:
    dataset = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SET
    header = (
        f"{'strategy':<24} {'accuracy':>8} {'mean cost $':>11} {'escalated':>10} {'vs strong':>9}"
    )
    print(header)
    rows = evaluate(dataset, {})
    for name, row in rows.items():
        print(line(name, row))
    print()
    print(header.replace("strategy", "cascade policy"))
    for initial, maximum, agreement in POLICIES:
        env = {
            "THINK_CASCADE_INITIAL": str(initial),
            "THINK_CASCADE_MAX_SAMPLES": str(maximum),
            "THINK_AGREEMENT": str(agreement),
        }
        needed = max(1, -(-int(agreement * maximum * 100 - 1e-6) // 100))
        row = evaluate(dataset, env)["cascade"]
        print(line(f"{needed} of {maximum} (first {initial})", row))


if __name__ == "__main__":
    main()
