"""Concurrent sampling: 10 samples should cost barely more wall time than one.

Starts the loopback OpenAI-compatible test server with a fixed 200 ms delay on every
response and runs the real ``vote`` strategy (through ``think.run.execute``) with 1 and with
10 samples, against a server that accepts ``n > 1`` in one request and one that does not
(10 concurrent requests). Prints wall times and the ratio to one sample.
Run from the repository root: ``.venv/bin/python benchmarks/concurrency.py``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.openai_server import FakeOpenAIServer
from think.cli.wiring import price_lookup, provider_catalog, query_options
from think.config.settings import load_settings
from think.model_ref import parse_model_ref
from think.run import Query, execute
from think.strategies.vote import Vote

DELAY = 0.2
REPEATS = 5


def timed_vote(samples: int, supports_n: bool, base_url: str) -> float:
    os.environ["OPENAI_BASE_URL"] = base_url
    os.environ["OPENAI_API_KEY"] = "sk-benchmark-0000"
    name = "openai" if supports_n else "nopn"
    if not supports_n:
        os.environ["THINK_PROVIDERS__NOPN__BASE_URL"] = base_url
        os.environ["THINK_PROVIDERS__NOPN__SUPPORTS_N"] = "false"
    settings = load_settings()
    ref = parse_model_ref(f"{name}:gpt-4o-mini")
    query = Query("what is 2+2?", Vote(ref, samples), query_options(settings), None)
    start = time.perf_counter()
    run = asyncio.run(
        execute(
            query,
            lambda e: None,
            price_lookup(settings),
            lambda p: provider_catalog(settings).create(p),
        )
    )
    elapsed = time.perf_counter() - start
    assert run.status == "ok", run.error
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        os.environ["THINK_LEDGER"] = str(Path(home) / "ledger.db")
        os.environ["THINK_CONFIG"] = str(Path(home) / "config.toml")
        print(f"{'server':<26} {'samples':>7} {'wall s':>8} {'x one':>7}")
        for supports_n, label in ((True, "n>1 in one request"), (False, "10 concurrent requests")):
            with FakeOpenAIServer(delay=DELAY, supports_n=supports_n) as server:
                timed_vote(1, supports_n, server.base_url)  # warm up imports and connections
                one = statistics.median(
                    timed_vote(1, supports_n, server.base_url) for _ in range(REPEATS)
                )
                ten = statistics.median(
                    timed_vote(10, supports_n, server.base_url) for _ in range(REPEATS)
                )
                print(f"{label:<26} {1:>7} {one:>8.3f} {1.0:>7.2f}")
                print(f"{label:<26} {10:>7} {ten:>8.3f} {ten / one:>7.2f}")


if __name__ == "__main__":
    main()
