"""Fault injection: many ``think`` runs against a loopback server that misbehaves at random.

The server answers each HTTP request with a fault drawn from :data:`FAULT_MIX` (429 with
``retry-after`` or ``retry-after-ms``, 500, 529, a stream cut mid-way, a stall longer than
the timeout before or after the headers, an error inside a 200 stream) or a normal answer.
Each run is a real ``think`` process (``vote`` with one request per sample, so every sample
is its own provider call); the harness then checks what a user relies on: a clean,
documented exit code, no traceback, and a ledger that holds every run and exactly one
record per call, whose retry counts add up to the requests the server saw.

Used by tests/test_fault_injection.py and benchmarks/fault_injection.py.
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.cli_support import ledger_rows
from tests.fakes.openai_server import (
    Behaviour,
    CutStream,
    ErrorInStream,
    FakeOpenAIServer,
    Generate,
    Stall,
    overloaded,
    rate_limited,
    server_error,
)
from tests.paths import require_think_bin
from think.errors import ExitCode

TIMEOUT = 0.5
"""Seconds think waits for the next bytes (``THINK_TIMEOUT``); stalls last longer."""
STALL = 1.5

FAULT_MIX: dict[str, tuple[float, Callable[[], Behaviour]]] = {
    "ok": (0.40, Generate),
    "429 retry-after": (0.08, lambda: rate_limited(retry_after="0")),
    "429 retry-after-ms": (0.07, lambda: rate_limited(retry_after=None, retry_after_ms="20")),
    "500": (0.08, server_error),
    "529 overloaded": (0.07, lambda: overloaded(529)),
    "cut stream": (0.10, lambda: CutStream(after_events=2)),
    "stall before headers": (0.05, lambda: Stall(STALL)),
    "stall mid-stream": (0.07, lambda: Stall(STALL, after_events=2)),
    "error in stream": (0.08, lambda: ErrorInStream(after_events=1)),
}


@dataclass
class FaultReport:
    runs: int
    calls_made: int
    """Provider calls the runs made (samples drawn), from the ledger."""
    http_requests: int
    """Requests the server received (retries included)."""
    attempts_recorded: int
    """Sum of the ledger's per-call attempt counts."""
    faults: Counter[str] = field(default_factory=Counter)
    exit_codes: Counter[int] = field(default_factory=Counter)
    call_statuses: Counter[str] = field(default_factory=Counter)
    call_errors: Counter[str] = field(default_factory=Counter)
    tracebacks: int = 0
    unknown_exit_codes: int = 0
    runs_in_ledger: int = 0
    distinct_call_ids: int = 0
    runs_with_wrong_call_count: int = 0
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return (
            self.tracebacks == 0
            and self.unknown_exit_codes == 0
            and self.runs_in_ledger == self.runs
            and self.distinct_call_ids == self.calls_made
            and self.runs_with_wrong_call_count == 0
            # A request sent on a keep-alive connection the server had just dropped never
            # reaches it but is an attempt: the ledger may count more, never fewer.
            and self.attempts_recorded >= self.http_requests
        )


def fault_script(rng: random.Random, count: int) -> tuple[list[Behaviour], list[str]]:
    names = list(FAULT_MIX)
    weights = [FAULT_MIX[name][0] for name in names]
    drawn = rng.choices(names, weights=weights, k=count)
    return [FAULT_MIX[name][1]() for name in drawn], drawn


def run_fault_injection(
    *, runs: int = 40, samples: int = 5, seed: int = 7, workers: int = 4
) -> FaultReport:
    """``runs`` think processes × ``samples`` calls each; see the module docstring."""
    import time

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer() as server:
        server.chunk_delay = 0.01
        # Enough scripted behaviours for every attempt (3 per call at most); the rest answer.
        behaviours, names = fault_script(rng, runs * samples * 3)
        server.script(*behaviours)
        ledger = Path(tmp) / "ledger.db"
        env = {
            **os.environ,
            "THINK_CONFIG": str(Path(tmp) / "none.toml"),
            "THINK_LEDGER": str(ledger),
            "THINK_CACHE_DIR": str(Path(tmp) / "cache"),
            "THINK_PROVIDERS__FLAKY__BASE_URL": server.base_url,
            "THINK_PROVIDERS__FLAKY__SUPPORTS_N": "false",
            "THINK_TIMEOUT": str(TIMEOUT),
            "THINK_CONNECT_TIMEOUT": str(TIMEOUT),
            "THINK_MAX_RETRIES": "2",
            "THINK_RETRY_BASE_DELAY": "0.01",
            "NO_COLOR": "1",
        }
        command = [
            str(require_think_bin()),
            "-s",
            "vote",
            "-n",
            str(samples),
            "-m",
            "flaky:gpt-4o-mini",
            "--json",
        ]

        def one(number: int) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*command, f"question {number}: what is 2+2?"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                check=False,
            )

        started = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, range(runs)))
        seconds = time.monotonic() - started
        requests = len(server.chat_requests)
        report = FaultReport(
            runs=runs,
            calls_made=0,
            http_requests=requests,
            attempts_recorded=0,
            faults=Counter(names[:requests]),
            seconds=seconds,
        )
        documented = {int(code) for code in ExitCode}
        for result in results:
            report.exit_codes[result.returncode] += 1
            report.tracebacks += "Traceback" in result.stderr + result.stdout
            report.unknown_exit_codes += result.returncode not in documented
        _read_ledger(ledger, samples, report)
    return report


def _read_ledger(path: Path, samples: int, report: FaultReport) -> None:
    report.runs_in_ledger = ledger_rows(path, "select count(*) as n from runs")[0]["n"]
    rows = ledger_rows(path, "select id, run_id, status, attempts, error from calls")
    report.calls_made = len(rows)
    report.distinct_call_ids = len({row["id"] for row in rows})
    report.attempts_recorded = sum(row["attempts"] or 0 for row in rows)
    report.call_statuses.update(row["status"] for row in rows)
    report.call_errors.update(_error_kind(row["error"]) for row in rows if row["error"])
    per_run = Counter(row["run_id"] for row in rows)
    report.runs_with_wrong_call_count = sum(1 for count in per_run.values() if count != samples) + (
        report.runs_in_ledger - len(per_run)
    )


def _error_kind(message: str) -> str:
    """The error message without its provider prefix and details, for a summary table."""
    text = message.split(": ", 1)[-1]
    return text.split(" (gave up", 1)[0][:60]
