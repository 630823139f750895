"""Start-up of the installed ``think``, side by side with the ``llm`` CLI, in one run.

Both talk to the same loopback OpenAI-compatible server (``tests/fakes/openai_server.py``,
started in this process; it answers at once), so what is measured is each tool's own time:

* a whole single query (``think -m openai:gpt-4o-mini -s single``; ``llm -m gpt-4o-mini``),
  ledger / log write included;
* a cascade (2 cheap samples that disagree, ``--agreement 1`` and at most 2 cheap
  samples, then the strong model: 3 calls);
* ``think ledger -n 20`` on a 1,000-run ledger (filled with ``benchmarks/ledger.py``);
* ``--help`` and ``--version``, and ``python -c pass`` as the floor.

The commands run interleaved (one of each per round, so a busy machine slows all alike),
after two warm-up rounds (which also fill think's price cache); the table gives the median
wall and CPU (user + system) time of N rounds and the ratio to ``llm``'s counterpart.
Bytecode is written and used as for an installed copy (``PYTHONDONTWRITEBYTECODE`` is
dropped from the environment: without ``.pyc`` files every run recompiles think's source).

Run from the repository root with the venv's Python:
``.venv/bin/python benchmarks/startup.py [--runs N] [--llm PATH]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ledger import fill  # noqa: E402  (benchmarks/ledger.py)

from tests.fakes.openai_server import FakeOpenAIServer  # noqa: E402

PROMPT = "What is 2+2?"
CHEAP, STRONG = "openai:gpt-4o-mini", "openai:o4-mini"


def think_command() -> list[str]:
    beside = Path(sys.executable).with_name("think")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("think")
    if found:
        return [found]
    return [sys.executable, "-m", "think"]


def llm_command(given: str | None) -> list[str] | None:
    for candidate in (given, Path(sys.executable).with_name("llm"), shutil.which("llm")):
        if candidate and Path(candidate).exists():
            return [str(candidate)]
    return None


def disagreeing() -> Callable[[dict[str, Any], int], str]:
    """Cheap answers alternate between 4 and 5 (a cascade escalates); the strong one is 4."""
    turn = itertools.count()

    def answer(body: dict[str, Any], index: int) -> str:
        if body.get("model") == STRONG.split(":")[1]:
            return "Working carefully, the answer is 4."
        return f"The answer is {4 + next(turn) % 2}."

    return answer


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--llm", help="the llm CLI (default: beside this Python, or on PATH)")
    args = parser.parse_args()
    think, llm = think_command(), llm_command(args.llm)
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer() as server:
        server.answer = disagreeing()
        home = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(
            OPENAI_BASE_URL=server.base_url,
            OPENAI_API_KEY="sk-benchmark",
            THINK_LEDGER=str(home / "queries.db"),
            THINK_CONFIG=str(home / "none.toml"),
            THINK_CACHE_DIR=str(home / "cache"),
            THINK_CASCADE_MAX_SAMPLES="2",
            LLM_USER_PATH=str(home / "llm"),
            NO_COLOR="1",
            COLUMNS="100",
        )
        big = home / "ledger-1000.db"
        fill(big, 1000)
        query = [*think, "-m", CHEAP, "-s", "single", "--no-reuse", "--json", PROMPT]
        cascade = [*think, "--cheap", CHEAP, "--strong", STRONG, "--agreement", "1"]
        cascade += ["--no-reuse", "--json", PROMPT]
        cases: dict[str, tuple[list[str], dict[str, str]]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], env),
            "think --version": ([*think, "--version"], env),
            "think --help": ([*think, "--help"], env),
            "think single query": (query, env),
            "think cascade (2+1 calls)": (cascade, env),
            "think ledger -n 20 (1,000 runs)": (
                [*think, "ledger", "-n", "20"],
                {**env, "THINK_LEDGER": str(big)},
            ),
        }
        versus = {
            "think --version": "llm --version",
            "think --help": "llm --help",
            "think single query": "llm single query",
            "think cascade (2+1 calls)": "llm single query",
        }
        if llm is not None:
            cases["llm --version"] = ([*llm, "--version"], env)
            cases["llm --help"] = ([*llm, "--help"], env)
            cases["llm single query"] = ([*llm, "-m", CHEAP.split(":")[1], PROMPT], env)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for round_ in range(args.runs + 2):
            for name, (command, case_env) in cases.items():
                measured = run_once(command, case_env)
                if round_ >= 2:  # two warm-up rounds
                    times[name].append(measured)
    wall = {name: statistics.median(w for w, _ in runs) for name, runs in times.items()}
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in times.items()}
    print(
        f"{args.runs} interleaved rounds on {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'command':<33} {'wall s':>7} {'cpu s':>6} {'x llm wall':>10} {'x llm cpu':>9}")
    for name in cases:
        other = versus.get(name)
        ratios = ("", "")
        if other in wall:
            ratios = (f"{wall[name] / wall[other]:.2f}", f"{cpu[name] / cpu[other]:.2f}")
        print(f"{name:<33} {wall[name]:>7.3f} {cpu[name]:>6.3f} {ratios[0]:>10} {ratios[1]:>9}")


if __name__ == "__main__":
    main()
