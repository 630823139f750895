"""``think batch --mode now`` against a shell loop of ``think`` processes, one per prompt.

The same prompts (100 by default) through the installed console script against the loopback
OpenAI-compatible test server, which delays each response by ``--delay`` seconds (a stand-in
for a provider's latency; 0 measures think's own overhead): ``think batch`` at several
``--concurrency`` values, then ``for p in …; do think -m MODEL "$p"; done``. Each setting gets
a fresh ledger. Prints wall time, prompts per second, and the requests the server saw.
Run from the repository root: ``.venv/bin/python benchmarks/batch_now.py [--prompts 100]``.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.openai_server import FakeOpenAIServer
from tests.paths import require_think_bin

MODEL = "openai:gpt-4o-mini"


def batch(think: str, prompts: Path, concurrency: int, env: dict[str, str]) -> None:
    argv = [think, "batch", str(prompts), "-m", MODEL, "--concurrency", str(concurrency)]
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert len(done.stdout.splitlines()) == len(prompts.read_text().splitlines())


def shell_loop(think: str, prompts: list[str], env: dict[str, str]) -> None:
    script = 'for p in "$@"; do "$THINK" -m "$MODEL" "$p" > /dev/null || exit 1; done'
    loop_env = {**env, "THINK": think, "MODEL": MODEL}
    done = subprocess.run(["sh", "-c", script, "sh", *prompts], env=loop_env, check=False)
    assert done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.2, help="server latency, seconds")
    parser.add_argument("--concurrency", default="1,4,16")
    args = parser.parse_args()
    think = str(require_think_bin())
    prompts = [f"what is {i} + {i}?" for i in range(args.prompts)]
    print(f"{args.prompts} prompts, server delay {args.delay:g} s per response")
    print(f"{'how':<28} {'wall s':>7} {'prompts/s':>9} {'requests':>8} {'x loop':>6}")
    rows: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory() as home, FakeOpenAIServer(delay=args.delay) as server:
        path = Path(home) / "prompts.jsonl"
        path.write_text("".join(json.dumps(p) + "\n" for p in prompts), encoding="utf-8")
        base = {
            **os.environ,
            "THINK_CONFIG": str(Path(home) / "config.toml"),
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-benchmark-0000",
        }
        runs = [(f"think batch --concurrency {n}", int(n)) for n in args.concurrency.split(",")]
        for index, (label, concurrency) in enumerate([*runs, ("shell loop of think", 0)]):
            env = {  # a fresh ledger and no kept results: every prompt is asked
                **base,
                "THINK_LEDGER": str(Path(home) / f"ledger-{index}.db"),
                "THINK_BATCH_DIR": str(Path(home) / f"batches-{index}"),
            }
            before = len(server.chat_requests)
            start = time.perf_counter()
            if concurrency:
                batch(think, path, concurrency, env)
            else:
                shell_loop(think, prompts, env)
            rows.append((label, time.perf_counter() - start, len(server.chat_requests) - before))
    loop_wall = rows[-1][1]
    for label, wall, requests in rows:
        rate = args.prompts / wall
        print(f"{label:<28} {wall:>7.2f} {rate:>9.1f} {requests:>8} {loop_wall / wall:>6.1f}")


if __name__ == "__main__":
    main()
