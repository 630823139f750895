"""A cross-vendor query end to end: wall time of the installed ``think`` for one answer from
each native protocol (OpenAI's as the reference), and for a cascade from Gemini to Claude
with ``--effort high``.

Starts the loopback Anthropic and Gemini test servers (no delay: the time is think's own),
points ``ANTHROPIC_BASE_URL`` / ``GEMINI_BASE_URL`` at them, and runs the console script as
a subprocess, ledger write included. The cascade's cheap samples disagree, so every run
makes two Gemini calls (they disagree at once) and one Claude call. Prints median and best
of the runs.
Run from the repository root: ``.venv/bin/python benchmarks/cross_vendor.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.behaviours import Generate
from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.openai_server import FakeOpenAIServer

THINK = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "think"
RUNS = 10
PROMPT = "What is 17 x 23?"
CASES = {
    "openai single (reference)": ["-m", "openai:gpt-4o-mini", "--strategy", "single", PROMPT],
    "gemini single": ["-m", "gemini:gemini-2.5-flash", "--strategy", "single", PROMPT],
    "anthropic single": ["-m", "anthropic:claude-sonnet-4-5", "--strategy", "single", PROMPT],
    "cascade gemini -> claude": [
        "--cheap",
        "gemini:gemini-2.5-flash",
        "--strong",
        "anthropic:claude-sonnet-4-5",
        "--effort",
        "high",
        "--max-cost",
        "0.5",
        PROMPT,
    ],
}


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([str(THINK), *args], env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr.decode()
    return elapsed


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as home,
        FakeGeminiServer() as gemini,
        FakeAnthropicServer(answer="The answer is 391.") as anthropic,
        FakeOpenAIServer() as openai,
    ):
        env = {
            **os.environ,
            "THINK_LEDGER": str(Path(home) / "ledger.db"),
            "THINK_CONFIG": str(Path(home) / "config.toml"),
            "GEMINI_BASE_URL": gemini.base_url,
            "GEMINI_API_KEY": "AIzaSyBenchmark-000000000000000000000",
            "ANTHROPIC_BASE_URL": anthropic.base_url,
            "ANTHROPIC_API_KEY": "sk-ant-benchmark-0000000000",
            "OPENAI_BASE_URL": openai.base_url,
            "OPENAI_API_KEY": "sk-benchmark-0000",
        }
        answers = ["The answer is 391.", "The answer is 4."]
        print(f"{'query':<26} {'calls':>5} {'median s':>9} {'best s':>7}")
        for name, args in CASES.items():
            times = []
            for _ in range(RUNS):
                for server in (gemini, anthropic, openai):
                    server.reset()
                gemini.script(*(Generate(answer=a) for a in answers))
                times.append(timed(args, env))
            calls = len(gemini.requests) + len(anthropic.requests) + len(openai.requests)
            print(f"{name:<26} {calls:>5} {statistics.median(times):>9.3f} {min(times):>7.3f}")


if __name__ == "__main__":
    main()
