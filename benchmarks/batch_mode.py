"""``think batch --mode batch`` on the GSM8K replay: the same default cascade with every cheap
sample drawn at once (one batch round for them, one for the escalations), priced at the batch
APIs' 50%, against the synchronous cascade and gpt-4 alone.

Runs the real strategy and call code over every question of ../shared/replay/gsm8k.jsonl
(``replay:gpt-3.5-turbo`` cheap, ``replay:gpt-4`` strong) three ways: the synchronous default
cascade, the cascade as ``--mode batch`` runs it (``Cascade.upfront``), and gpt-4 alone (its
first recorded answer). Costs are the replay's recorded costs (2023 list prices); the batch
rows halve every call (OpenAI's Batch API: 50% off every token rate, gpt-3.5-turbo and gpt-4
both offered there). Accuracy with a 95% Wilson interval; the gold answers only score.
Run from the repository root: ``.venv/bin/python benchmarks/batch_mode.py [FILE]``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.tiers import DEFAULT_SET, HALF, is_cheap, recorded, replay, total
from think.evaluate.stats import wilson_interval


def main() -> None:
    dataset = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SET
    if not dataset.exists():
        raise SystemExit(f"no replay set at {dataset}")
    with tempfile.TemporaryDirectory() as home:  # no user config or ledger is read
        os.environ["THINK_CONFIG"] = str(Path(home) / "config.toml")
        strong_runs, strong_right = asyncio.run(replay(dataset, strong_only=True))
        sync_runs, sync_right = asyncio.run(replay(dataset))
        batch_runs, batch_right = asyncio.run(replay(dataset, upfront=True))
    questions = len(sync_runs)
    strong_cost = total(strong_runs, recorded)
    header = (
        f"{'setting':<44} {'accuracy':>8} {'95% CI':>13} {'cheap samples':>13} "
        f"{'escalated':>9} {'cost $':>8} {'vs strong':>9}"
    )
    print(f"{questions} GSM8K questions, recorded gpt-3.5-turbo / gpt-4 answers")
    print(header)

    def row(name: str, runs: list[list[object]], right: int, cost: Decimal) -> None:
        low, high = wilson_interval(right, questions)
        samples = sum(
            call.n
            for calls in runs
            for call in calls
            if is_cheap(call)  # type: ignore[attr-defined]
        )
        escalated = sum(
            1
            for calls in runs
            if any(c.stage == "escalate" for c in calls)  # type: ignore[attr-defined]
        )
        print(
            f"{name:<44} {right / questions:>8.2%} {low:>6.1%}-{high:<6.1%} {samples:>13} "
            f"{escalated / questions:>9.1%} {cost:>8.4f} {cost / strong_cost:>9.1%}"
        )

    row("gpt-4 alone (standard)", strong_runs, strong_right, strong_cost)  # type: ignore[arg-type]
    row("cascade, synchronous (standard)", sync_runs, sync_right, total(sync_runs, recorded))  # type: ignore[arg-type]
    upfront_standard = total(batch_runs, recorded)
    row("cascade, all cheap samples at once (standard)", batch_runs, batch_right, upfront_standard)  # type: ignore[arg-type]
    row(
        "think batch --mode batch (batch API, 50%)",
        batch_runs,
        batch_right,
        upfront_standard * HALF,
    )  # type: ignore[arg-type]
    row("gpt-4 alone through the batch API (50%)", strong_runs, strong_right, strong_cost * HALF)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
