"""Reuse: what running the same 200 prompts twice costs, with reuse on.

Runs 200 distinct prompts through the real query path (``think.ask``: settings, the
fingerprint, the ledger, the strategy) against the loopback OpenAI-compatible test server,
then the same 200 again, each setting in a fresh ledger: ``single`` at temperature 0 (reuse on
by default), a cascade with ``reuse = true``, and a cascade with reuse off for comparison.
Prints, per pass, the provider requests the server saw, the cost recorded, how many runs were
reused and the wall time; then what ``think ledger stats`` says reuse saved.
Run from the repository root: ``.venv/bin/python benchmarks/reuse.py [--prompts 200]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import think
from tests.fakes.openai_server import FakeOpenAIServer
from think.ledger.stats import spend_stats
from think.ledger.store import Ledger
from think.money import format_usd

SETTINGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("single, temperature 0", {"model": "openai:gpt-4o-mini", "temperature": 0}),
    (
        "cascade, reuse = true",
        {"cheap": "openai:gpt-4o-mini", "strong": "openai:o4-mini", "reuse": True},
    ),
    (
        "cascade, reuse off",
        {"cheap": "openai:gpt-4o-mini", "strong": "openai:o4-mini", "reuse": False},
    ),
)


def one_pass(
    server: FakeOpenAIServer, prompts: list[str], settings: dict[str, Any]
) -> tuple[int, Decimal, int, float]:
    """Requests made, cost recorded, runs reused and wall seconds of one pass."""
    before = len(server.chat_requests)
    cost = Decimal(0)
    reused = 0
    start = time.perf_counter()
    for prompt in prompts:
        run = think.ask(prompt, **settings)
        assert run.status in ("ok", "reused"), run.error
        cost += run.cost.usd if run.cost and run.cost.usd is not None else Decimal(0)
        reused += run.status == "reused"
    return len(server.chat_requests) - before, cost, reused, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=200)
    args = parser.parse_args()
    prompts = [f"what is {i} + {i}?" for i in range(args.prompts)]
    header = f"{'setting':<23} {'pass':>4} {'requests':>8} {'cost':>10} {'reused':>6} {'wall s':>7}"
    print(header)
    with tempfile.TemporaryDirectory() as home, FakeOpenAIServer() as server:
        os.environ["THINK_CONFIG"] = str(Path(home) / "config.toml")
        os.environ["OPENAI_BASE_URL"] = server.base_url
        os.environ["OPENAI_API_KEY"] = "sk-benchmark-0000"
        savings = []
        for index, (label, settings) in enumerate(SETTINGS):
            ledger = Path(home) / f"ledger-{index}.db"
            os.environ["THINK_LEDGER"] = str(ledger)
            for number in (1, 2):
                requests, cost, reused, wall = one_pass(server, prompts, settings)
                print(
                    f"{label:<23} {number:>4} {requests:>8} {format_usd(cost):>10} "
                    f"{reused:>6} {wall:>7.2f}"
                )
            with Ledger(ledger) as store:
                stats = spend_stats(store, "day", None)
            savings.append((label, stats.reused, stats.reuse_saved, stats.total.spent))
        print()
        print(f"{'setting':<23} {'reused':>6} {'reuse saved':>12} {'spent':>10}")
        for label, count, saved, spent in savings:
            print(f"{label:<23} {count:>6} {format_usd(saved):>12} {format_usd(spent):>10}")


if __name__ == "__main__":
    main()
