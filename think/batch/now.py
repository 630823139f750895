"""``think batch --mode now``: every prompt of the batch a normal run, many at once.

Each prompt goes through its strategy as ``think PROMPT`` would (the cascade by default),
through one :class:`~think.batch.pool.Pool` (``concurrency`` in flight, the batch's
``--max-cost`` shared by all), and is recorded in the ledger as its own run carrying the
batch's id: under daily or monthly spending caps each run reserves its maximum cost there
first, and a run the caps refuse stops the batch. Where reuse is on, a prompt whose answer is
already in the ledger is answered from it at $0, as a single run would be.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from think import events
from think.batch.pool import Pool, Stop, run_all
from think.errors import LedgerError
from think.ledger.caps import Caps
from think.ledger.recorder import LedgerRecorder, start_run
from think.ledger.reuse import find_original, reused_record
from think.ledger.store import Ledger
from think.run import Query, start_record


@dataclass(frozen=True)
class Job:
    """One prompt to run: where it stands in the batch, what to call it, its query."""

    index: int
    label: str
    query: Query


@dataclass(frozen=True)
class Recording:
    """Where and how the batch's runs are recorded."""

    batch_id: str
    ledger: Ledger | None
    """``None``: the ledger could not be opened (``error`` says why); the runs go on."""
    error: LedgerError | None = None
    caps: Caps = field(default_factory=Caps)
    content: bool = True
    """False: ``--no-log`` (costs, tokens and timings only)."""
    reuse_since: str | None = None
    """Answer from a successful identical run started since then (UTC ISO); ``None``: no
    reuse."""


@dataclass
class Outcome:
    """How the batch ended: why it stopped sending (if it did) and the first ledger error."""

    stopped: Stop | None = None
    not_recorded: LedgerError | None = None
    spooled: list[LedgerRecorder] = field(default_factory=list)
    """The runs whose team ledger went away mid-run: kept in its spool."""


Finished = Callable[[Job, events.RunRecord], None]


Watch = Callable[[int], AbstractContextManager[None]]
"""What each job runs inside, by its index (``--mode batch``: its calls wait for their
round, :meth:`think.batch.rounds.Rounds.prompt`)."""


async def run_now(
    jobs: Sequence[Job],
    pool: Pool,
    recording: Recording,
    finished: Finished,
    watch: Watch | None = None,
) -> Outcome:
    """Run every job; ``finished`` gets each run as it ends (in the order they end). Jobs
    the pool has no budget for are not sent and not reported."""
    recorders: list[LedgerRecorder] = []

    def begin(query: Query) -> tuple[events.RunRecord, events.EventSink]:
        run = dataclasses.replace(start_record(query), batch_id=recording.batch_id)
        if recording.ledger is None:
            recorder = LedgerRecorder(None, recording.error, content=recording.content)
        else:
            recorder, run = start_run(
                recording.ledger, run, recording.caps, content=recording.content
            )
        recorders.append(recorder)
        return run, recorder

    async def one(job: Job) -> None:
        reused = _reuse(job.query, recording, recorders)
        if reused is not None:
            finished(job, reused)
            return
        run = await pool.run(job.query, job.label, begin)
        if run is not None:
            finished(job, run)

    async def watched(job: Job) -> None:
        if watch is None:
            return await one(job)
        with watch(job.index):
            return await one(job)

    await run_all(watched(job) for job in jobs)
    errors = [recorder.error for recorder in recorders if recorder.error is not None]
    spooled = [recorder for recorder in recorders if recorder.spooled is not None]
    return Outcome(pool.stopped, errors[0] if errors else None, spooled)


def _reuse(
    query: Query, recording: Recording, recorders: list[LedgerRecorder]
) -> events.RunRecord | None:
    """The run answered from the ledger, recorded, when reuse is on and finds an original."""
    ledger = recording.ledger
    if recording.reuse_since is None or ledger is None or query.fingerprint is None:
        return None
    try:
        original = find_original(ledger, query.fingerprint, recording.reuse_since)
    except LedgerError:
        return None  # a fresh answer; its recording says what is wrong with the ledger
    if original is None:
        return None
    start = dataclasses.replace(start_record(query), batch_id=recording.batch_id)
    run = reused_record(start, original)
    recorder = LedgerRecorder(ledger, content=recording.content)
    recorder(events.RunFinished(run))
    recorders.append(recorder)
    return run
