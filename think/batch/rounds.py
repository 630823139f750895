"""``think batch --mode batch``: the cascade over the providers' batch APIs, in rounds.

Every prompt runs through its strategy as in ``--mode now``, all at once, but its providers
are :class:`DeferredProvider`\\ s: a call does not go out, it waits in the current round. When
every unfinished run is waiting (none can go on without an answer), the round is sent: one
batch job per provider and model (OpenAI takes one model per job), polled with backoff until
it ends; each call then gets its own result and the runs go on. So round one holds every
run's cheap samples (the cascade draws them all at once in this mode), a round of judge calls
follows for open answers, and the last round holds only the escalations. A run's calls are
recorded in the ledger against it when their round's results arrive, priced at the batch
price (served tier ``batch``).

What a job did not return (expired, cancelled, errored, missing) is an error of that call,
with the provider's reason: the cascade treats it as it treats any failed call, and the
batch's summary says what did not come back. Submitted jobs are kept in a
:class:`~think.batch.job_state.JobState` file beside the results: the same command after an
interruption, or after the poll deadline, attaches to the jobs it sent instead of sending
them again.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from think.errors import ProviderError
from think.providers.base import (
    Capabilities,
    ChatRequest,
    ResponseStarted,
    StreamEvent,
    TierServed,
)
from think.providers.batch_jobs import (
    BatchJob,
    BatchPending,
    BatchRequest,
    PollPolicy,
    RawItem,
    wait,
)
from think.tiers import BATCH, BATCH_REREAD

if TYPE_CHECKING:
    from think.batch.job_state import JobState
    from think.providers.base import Provider
    from think.providers.batch_jobs import BatchApi


NOT_FOUND = 404
_current: contextvars.ContextVar[int] = contextvars.ContextVar("think_batch_prompt")
T = TypeVar("T")


@dataclass
class _Waiting:
    prompt: int
    provider: str
    request: ChatRequest
    answer: asyncio.Future[tuple[RawItem, str]]


@dataclass(frozen=True)
class RoundReport:
    """One round as it ended: its number and a line for each of its jobs (what came back)."""

    number: int
    summaries: list[str]


@dataclass
class Rounds:
    """Collects the calls of many runs into rounds and sends each round as batch jobs."""

    apis: Callable[[str], BatchApi]
    """The batch API of a provider (by its name in the catalog)."""
    policy: PollPolicy = field(default_factory=PollPolicy)
    state: JobState | None = None
    on_round: Callable[[RoundReport], None] | None = None
    on_submit: Callable[[int, BatchJob, int], None] | None = None
    """A job was sent (round number, the job, its requests) or attached to (the same)."""
    number: int = 0
    _active: set[int] = field(default_factory=set)
    _waiting: list[_Waiting] = field(default_factory=list)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _open_apis: dict[str, BatchApi] = field(default_factory=dict)

    # -- the runs ---------------------------------------------------------------------------

    @contextmanager
    def prompt(self, index: int) -> Iterator[None]:
        """The run of prompt ``index`` goes on inside this block (its calls are its own)."""
        token = _current.set(index)
        self._active.add(index)
        try:
            yield
        finally:
            self._active.discard(index)
            _current.reset(token)
            self._check()

    async def ask(self, provider: str, request: ChatRequest) -> tuple[RawItem, str]:
        """The result of ``request`` once its round has come back, and the tier to price it
        at."""
        answer: asyncio.Future[tuple[RawItem, str]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(_current.get(), provider, request, answer))
        self._check()
        return await answer

    def _check(self) -> None:
        blocked = {w.prompt for w in self._waiting if not w.answer.done()}
        if self._active <= blocked:
            self._idle.set()

    # -- the rounds -------------------------------------------------------------------------

    async def drive(self, work: Awaitable[T]) -> T:
        """Run ``work`` (every prompt's run), sending a round whenever all of them wait."""
        task = asyncio.ensure_future(work)
        try:
            while not task.done():
                idle = asyncio.ensure_future(self._idle.wait())
                await asyncio.wait({task, idle}, return_when=asyncio.FIRST_COMPLETED)
                idle.cancel()
                self._idle.clear()
                if task.done():
                    break
                for _ in range(3):  # calls started together register within a few steps
                    await asyncio.sleep(0)
                pending = [w for w in self._waiting if not w.answer.done()]
                blocked = {w.prompt for w in pending}
                if not pending or not self._active <= blocked:
                    continue
                self._waiting = []
                await self._send(pending)
            return await task
        except BaseException:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        finally:
            for api in self._open_apis.values():
                await api.aclose()

    async def _send(self, pending: list[_Waiting]) -> None:
        self.number += 1
        groups: dict[tuple[str, str], list[_Waiting]] = {}
        for waiting in pending:
            groups.setdefault((waiting.provider, waiting.request.model), []).append(waiting)
        outcomes = await asyncio.gather(
            *(self._job(provider, items) for (provider, _), items in groups.items()),
            return_exceptions=True,
        )
        jobs: list[BatchJob] = []
        summaries: list[str] = []
        stop: BaseException | None = None
        for items, outcome in zip(groups.values(), outcomes, strict=True):
            if isinstance(outcome, ProviderError) and not isinstance(outcome, BatchPending):
                for waiting in items:
                    if not waiting.answer.done():
                        waiting.answer.set_exception(outcome)
                summaries.append(str(outcome))
            elif isinstance(outcome, BaseException):
                stop = stop or outcome
            else:
                jobs.append(outcome[0])
                summaries.append(outcome[1])
        if self.on_round is not None:
            self.on_round(RoundReport(self.number, summaries))
        if stop is not None:
            raise stop  # this round's results reach no run: none is marked delivered
        if self.state is not None:
            for job in jobs:
                self.state.delivered(job.id)

    async def _job(self, provider: str, items: list[_Waiting]) -> tuple[BatchJob, str]:
        """Send one job (or attach to the one an earlier command sent), wait for it, and
        hand each call its result."""
        api = self._api(provider)
        requests = _requests(items)
        ids = [request.custom_id for request in requests]
        kept = self.state.find(provider, ids) if self.state is not None else None
        job: BatchJob | None = None
        reread = False
        if kept is not None:
            job, reread = await self._attach(api, kept.job_id), kept.delivered
        if job is None:
            job, reread = await api.submit(requests), False
            if self.state is not None:
                self.state.add(provider, job.id, ids)
        if self.on_submit is not None:
            self.on_submit(self.number, job, len(requests))
        job = await wait(api, job.id, self.policy)
        found = {item.custom_id: item for item in await api.fetch(job)}
        tier = BATCH_REREAD if reread else BATCH
        came_back = 0
        for request, waiting in zip(requests, items, strict=True):
            item = found.get(request.custom_id)
            if item is None:
                why = f"{provider}: batch {job.id} ({job.outcome}) returned no result for it"
                item = RawItem(request.custom_id, "missing", error=why)
            came_back += item.status == "succeeded"
            if not waiting.answer.done():
                waiting.answer.set_result((item, tier))
        missing = len(requests) - came_back
        said = f"{provider} batch {job.id} {job.outcome}: {came_back} of {len(requests)} answered"
        return job, said + (f", {missing} not (their runs say why)" if missing else "")

    async def _attach(self, api: BatchApi, job_id: str) -> BatchJob | None:
        """The kept job ``job_id``, or None when the provider no longer knows it (404: its
        results were deleted, or it belongs to another key): the round is sent again."""
        try:
            return await api.status(job_id)
        except ProviderError as exc:
            if exc.status != NOT_FOUND:
                raise
        if self.state is not None:
            self.state.forget(job_id)
        return None

    def _api(self, provider: str) -> BatchApi:
        if provider not in self._open_apis:
            self._open_apis[provider] = self.apis(provider)
        return self._open_apis[provider]


def _requests(items: list[_Waiting]) -> list[BatchRequest]:
    """The job's requests, each with a custom id that the same call gets again when the
    same command runs again (its prompt's index, a digest of the request and, for identical
    requests of one run, their order), so an interrupted batch can attach to its jobs."""
    seen: dict[str, int] = {}
    requests = []
    for waiting in items:
        digest = _digest(waiting.request)
        key = f"p{waiting.prompt}-{digest}"
        seen[key] = seen.get(key, 0) + 1
        requests.append(BatchRequest(f"{key}-{seen[key]}", waiting.request))
    return requests


def _digest(request: ChatRequest) -> str:
    shape = {
        "model": request.model,
        "messages": [[m.role, m.content] for m in request.messages],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "n": request.n,
        "effort": request.effort,
    }
    text = json.dumps(shape, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class DeferredProvider:
    """A provider whose calls wait for their round of batch jobs (:class:`Rounds`)."""

    def __init__(self, inner: Provider, rounds: Rounds) -> None:
        self.name = inner.name
        self._inner = inner
        self._rounds = rounds

    def capabilities(self, model: str) -> Capabilities:
        return self._inner.capabilities(model)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        item, tier = await self._rounds.ask(self.name, request)
        if item.status != "succeeded":
            raise ProviderError(
                item.error or f"{self.name}: batch item {item.status}", status=item.status_code
            )
        yield ResponseStarted()
        yield TierServed(tier)
        for event in item.events:
            if not isinstance(event, TierServed):  # a batch answer is billed at batch price
                yield event

    async def aclose(self) -> None:
        await self._inner.aclose()
