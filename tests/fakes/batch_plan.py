"""What the fake batch APIs do with a job: its plan (how many polls until it ends, how it ends,
which items fail) and the state it moves through, shared by
:mod:`tests.fakes.openai_batch_server` and :mod:`tests.fakes.anthropic_batch_server`.

Queue plans (and error statuses for the create call) with ``server.script_batches(...)``; each
job creation takes the next one (a :class:`~tests.fakes.behaviours.Status` is sent instead of
creating a job), else the default plan: ends ``completed`` at the first poll.

Progress is deterministic: after poll ``i`` of ``polls``, the first ``total * i // polls``
items (in submission order) are done. A job that ends ``expired`` has finished only
``finished`` items (default: half); a cancel makes the next poll end the job ``cancelled``
with the items done by then. Items whose custom id is in ``errored`` fail with the wire
format's per-item error; the rest that did not run are reported as expired or cancelled.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from tests.fakes.behaviours import JSONDict, Status

Outcome = Literal["completed", "expired", "failed", "cancelled"]
ItemFate = Literal["done", "errored", "not_run"]


@dataclass(frozen=True)
class BatchPlan:
    polls: int = 1
    """Status polls until the job ends (a huge number: it never ends)."""
    outcome: Literal["completed", "expired", "failed"] = "completed"
    finished: int | None = None
    """Items done before an ``expired`` end (None: half of them)."""
    errored: frozenset[str] = frozenset()
    """Custom ids that fail with a per-item error."""
    error_message: str = "max_tokens: Input should be less than or equal to 64000"


@dataclass
class FakeJob:
    id: str
    plan: BatchPlan
    items: list[tuple[str, JSONDict]]
    """``(custom_id, request body)`` in submission order."""
    created_at: float
    polls: int = 0
    cancel_requested: bool = False
    outcome: Outcome | None = None
    done_count: int = 0
    extra: JSONDict = field(default_factory=dict)
    """Wire-format bookkeeping (file ids, timestamps)."""

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    def progress(self) -> int:
        """Items done so far."""
        if self.ended:
            return self.done_count
        return len(self.items) * min(self.polls, self.plan.polls) // max(self.plan.polls, 1)

    def advance(self) -> None:
        """One status poll."""
        if self.ended:
            return
        self.polls += 1
        if self.cancel_requested:
            self._end("cancelled", self.progress())
        elif self.polls >= self.plan.polls:
            if self.plan.outcome == "expired":
                half = len(self.items) // 2
                done = self.plan.finished if self.plan.finished is not None else half
                self._end("expired", done)
            else:
                self._end(self.plan.outcome, len(self.items))

    def _end(self, outcome: Outcome, done: int) -> None:
        self.outcome = outcome
        self.done_count = 0 if outcome == "failed" else min(done, len(self.items))

    def fate(self, index: int, custom_id: str) -> ItemFate:
        if index >= self.done_count:
            return "not_run"
        return "errored" if custom_id in self.plan.errored else "done"

    def tally(self) -> dict[ItemFate, int]:
        counts: dict[ItemFate, int] = {"done": 0, "errored": 0, "not_run": 0}
        for index, (custom_id, _) in enumerate(self.items):
            counts[self.fate(index, custom_id)] += 1
        return counts


class BatchScript:
    """The queue of plans a fake batch server creates its jobs with, and the jobs."""

    def __init__(self) -> None:
        self.jobs: dict[str, FakeJob] = {}
        self._plans: deque[BatchPlan | Status] = deque()
        self._lock = threading.Lock()

    def script_batches(self, *plans: BatchPlan | Status) -> None:
        with self._lock:
            self._plans.extend(plans)

    def next_plan(self) -> BatchPlan | Status:
        with self._lock:
            return self._plans.popleft() if self._plans else BatchPlan()
