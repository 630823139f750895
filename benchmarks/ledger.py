"""The ledger at scale: 100,000 runs (and their calls), then the commands people run.

Fills a temporary ledger with synthetic runs spread over the last 90 days (cascades with
cheap samples and some escalations, single and vote runs; prompts drawn from a vocabulary),
then measures, as subprocesses of the installed console script (median wall and CPU time
of N):
``think ledger``, ``think ledger stats``, ``think ledger stats --by model`` and
``think ledger -q WORDS``; and, in-process, what recording a run adds (the run's start, its
calls and its end as ``think`` writes them), without and with a spending cap.

Run from the repository root: ``.venv/bin/python benchmarks/ledger.py [--runs 100000]``.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from think import events
from think.ids import new_run_id
from think.ledger.caps import Caps, reserve_run
from think.ledger.rows import call_row, run_row
from think.ledger.store import Ledger, upsert_sql
from think.periods import iso
from think.pricing import Cost
from think.usage import Usage

SYLLABLES = ("ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "gu", "va", "zo", "be", "fi")
VOCABULARY = [
    a + b + c for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES if a != b
]  # 2,548 made-up words; prompts draw them with Zipf weights (rank r has weight 1/r)
ZIPF = [1 / rank for rank in range(1, len(VOCABULARY) + 1)]
COMMON = VOCABULARY[0]  # in about a third of the prompts
RARE = VOCABULARY[400]  # in about one prompt in 300
CHEAP = ("openai", "gpt-4o-mini")
STRONG = ("openai", "o4-mini")


def think_command() -> list[str]:
    beside = Path(sys.executable).with_name("think")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "think"]


def synthetic_run(rng: random.Random, started: datetime) -> tuple[events.RunRecord, list]:
    run_id = new_run_id()
    strategy = rng.choices(["cascade", "single", "vote"], [0.7, 0.2, 0.1])[0]
    prompt = " ".join(rng.choices(VOCABULARY, ZIPF, k=rng.randint(5, 30)))
    calls: list[events.CallRecord] = []
    escalated = strategy == "cascade" and rng.random() < 0.25
    samples = {"cascade": rng.choice([2, 3, 4]), "single": 1, "vote": 5}[strategy]
    stages = [("cheap" if strategy == "cascade" else "answer", CHEAP)] * samples
    if escalated:
        stages.append(("escalate", STRONG))
    for seq, (stage, (provider, model)) in enumerate(stages, 1):
        out = rng.randint(20, 400)
        cost = Decimal(out) * Decimal("0.0000006") + Decimal("0.00001")
        calls.append(
            events.CallRecord(
                id=f"{run_id}-{seq:03d}",
                run_id=run_id,
                seq=seq,
                stage=stage,
                provider=provider,
                model=model,
                started_at=iso(started + timedelta(milliseconds=seq)),
                status="ok",
                latency_ms=rng.randint(200, 5000),
                ttft_ms=rng.randint(50, 500),
                n=1,
                texts=(f"The answer is {rng.randint(1, 99)}.",),
                reasoning="step by step " * 20 if stage == "escalate" else "",
                finish_reasons=("stop",),
                usage=Usage(input_tokens=40, output_tokens=out, source="reported"),
                usage_source="reported",
                cost=Cost(cost * (10 if stage == "escalate" else 1), "computed"),
                attempts=1,
            )
        )
    total = sum((c.cost.usd or Decimal(0) for c in calls), Decimal(0))
    run = events.RunRecord(
        id=run_id,
        started_at=iso(started),
        prompt=prompt,
        strategy=strategy,
        status="ok",
        models=(f"{CHEAP[0]}:{CHEAP[1]}", f"{STRONG[0]}:{STRONG[1]}"),
        max_cost_usd=None,
        finished_at=iso(started + timedelta(seconds=3)),
        duration_ms=3000,
        answer=calls[-1].texts[0],
        answer_model=f"{calls[-1].provider}:{calls[-1].model}",
        exit_code=0,
        cost=Cost(total, "computed"),
        usage=Usage(input_tokens=40 * len(calls), output_tokens=300),
        calls=len(calls),
        votes={"4": samples} if strategy != "single" else {},
        agreement=1.0,
        escalated=escalated,
        escalation_reason="disagreement" if escalated else "accepted",
        strong_only_cost_usd=total * 3 if strategy == "cascade" else None,
        stages=("cheap", "check", "escalate") if escalated else ("cheap", "check"),
    )
    return run, calls


def fill(path: Path, count: int) -> int:
    rng = random.Random(42)
    now = datetime.now(UTC)
    ledger = Ledger(path)
    calls_written = 0
    try:
        conn = ledger.conn
        conn.execute("BEGIN")
        for i in range(count):
            started = now - timedelta(days=90) + timedelta(seconds=i * 90 * 86400 / count)
            run, calls = synthetic_run(rng, started)
            row = run_row(run)
            conn.execute(upsert_sql("runs", tuple(row)), tuple(row.values()))
            for call in calls:
                crow = call_row(call)
                conn.execute(upsert_sql("calls", tuple(crow)), tuple(crow.values()))
            calls_written += len(calls)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        ledger.close()
    return calls_written


def measure(command: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the command, in seconds.
    CPU time shows what the command costs when the machine's 2 cores are busy elsewhere."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def record_ms(path: Path, runs: int, caps: Caps | None) -> float:
    """Mean wall time per run of the ledger writes a 3-call run makes."""
    rng = random.Random(7)
    ledger = Ledger(path)
    try:
        start = time.perf_counter()
        for _ in range(runs):
            run, calls = synthetic_run(rng, datetime.now(UTC))
            begun = replace(run, status="running", max_cost_usd=Decimal("0.05"))
            if caps:
                reserve_run(ledger, begun, caps)
            ledger.record_run(begun)
            for call in calls[:3]:
                ledger.record_call(call)
            ledger.record_run(run)
        return (time.perf_counter() - start) / runs * 1000
    finally:
        ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--ledger", type=Path, help="reuse (or keep) this filled ledger file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.ledger or Path(tmp) / "ledger.db"
        if not path.exists():
            start = time.perf_counter()
            calls = fill(path, args.runs)
            print(f"filled {args.runs:,} runs and {calls:,} calls in ", end="")
            print(f"{time.perf_counter() - start:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
        env = {**os.environ, "THINK_LEDGER": str(path), "NO_COLOR": "1", "COLUMNS": "100"}
        env["THINK_CONFIG"] = str(Path(tmp) / "none.toml")
        think = think_command()
        cases = {
            "think --version": [*think, "--version"],
            "think ledger path (startup, no query)": [*think, "ledger", "path"],
            "think ledger": [*think, "ledger"],
            "think ledger -q COMMON_WORD": [*think, "ledger", "-q", COMMON],
            "think ledger -q RARE_WORD": [*think, "ledger", "-q", RARE],
            "think ledger -q 'COMMON RARE'": [*think, "ledger", "-q", f"{COMMON} {RARE}"],
            "think ledger --status ok -m o4-mini": [
                *think,
                "ledger",
                "--status",
                "ok",
                "-m",
                "o4-mini",
            ],
            "think ledger stats": [*think, "ledger", "stats"],
            "think ledger stats --by model": [*think, "ledger", "stats", "--by", "model"],
            "think ledger stats --since 7d": [*think, "ledger", "stats", "--since", "7d"],
        }
        counts = Ledger(path).one("select count(*) as n from runs")
        print(f"ledger: {counts['n'] if counts else 0:,} runs\n")
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        print(f"{'command':<38} {'wall s':>7} {'cpu s':>7}")
        for name, command in cases.items():
            measure(command, env, 1)  # warm the page cache
            wall_s, cpu_s = measure(command, env, args.repeat)
            print(f"{name:<38} {wall_s:>7.3f} {cpu_s:>7.3f}")
        print()
        print(f"{'recording a 3-call run':<38} {'ms/run':>9}")
        print(f"{'  no cap':<38} {record_ms(path, 200, None):>9.2f}")
        capped = Caps(daily=Decimal(1_000_000), monthly=Decimal(1_000_000))
        print(f"{'  daily + monthly cap (reservation)':<38} {record_ms(path, 200, capped):>9.2f}")


if __name__ == "__main__":
    main()
