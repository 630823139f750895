"""The providers' batch APIs, behind one interface: submit many requests as one job, poll it,
fetch what came back, cancel it (``think batch --mode batch``, ``think batch status|cancel``).

A job is submitted as :class:`BatchRequest` items (a caller-chosen ``custom_id`` and the same
:class:`~think.providers.base.ChatRequest` a normal call takes: each protocol builds the body
with its normal provider's payload builder, without streaming). Polling (:func:`wait`) backs
off exponentially and is bounded by :attr:`PollPolicy.deadline`: a job still running then
raises :class:`BatchPending`, which names the job id so ``think batch status ID`` can pick it up
later. Each result is an :class:`ItemResult` with the answer, the usage (parsed by the
protocol's own usage parser) and the cost at the batch price
(:func:`think.tiers.prices.batch_price`). Items that errored, expired or were canceled come back as
items with that status and the provider's reason, and an item the provider did not return at
all is reported ``missing``: nothing submitted is lost.

The wire formats are :mod:`think.providers.openai_batches` (``/v1/files`` + ``/v1/batches``)
and :mod:`think.providers.anthropic_batches` (Message Batches); the HTTP plumbing they share is
:mod:`think.providers.batch_http`; :func:`think.providers.registry.open_batch_api` (and
``ProviderCatalog.batch_api(name)``) finds a provider's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

from tenacity import AsyncRetrying, RetryCallState, RetryError, retry_if_result

from think.errors import ExitCode, ProviderError, UsageError
from think.pricing import Cost, ModelPrice, call_cost
from think.providers.base import (
    ChatRequest,
    ChoiceFinished,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    UsageReported,
)
from think.tiers.prices import batch_price
from think.usage import Usage

ItemStatus = Literal["succeeded", "errored", "canceled", "expired", "missing"]
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
PriceFor = Callable[[str], ModelPrice | None]
"""The *standard* price of a model id (the batch discount is applied here)."""


@dataclass(frozen=True)
class BatchRequest:
    custom_id: str
    """Unique within the job; results are matched to requests by it, never by order."""
    request: ChatRequest


@dataclass(frozen=True)
class RequestCounts:
    total: int = 0
    succeeded: int = 0
    errored: int = 0
    """Failed requests (OpenAI counts expired and cancelled ones here too)."""
    canceled: int = 0
    expired: int = 0
    processing: int = 0


@dataclass(frozen=True)
class BatchJob:
    """A job's state as the provider last reported it."""

    id: str
    provider: str
    status: str
    """The provider's own word: OpenAI ``validating`` … ``cancelled``, Anthropic
    ``in_progress`` / ``canceling`` / ``ended``."""
    ended: bool
    """Nothing more will happen: the results (if any) can be fetched."""
    counts: RequestCounts
    outcome: str | None = None
    """How it ended: ``completed``, ``expired``, ``cancelled`` or ``failed`` (None: running)."""
    errors: tuple[str, ...] = ()
    """Job-level errors (OpenAI's ``errors.data`` of a batch that failed validation)."""
    output_file_id: str | None = None
    error_file_id: str | None = None
    results_url: str | None = None
    created_at: str | None = None
    expires_at: str | None = None


@dataclass(frozen=True)
class ItemResult:
    """One request's outcome: the per-call result a normal call produces (texts, reasoning,
    finish reasons, usage, cost), or the reason it has none."""

    custom_id: str
    status: ItemStatus
    texts: tuple[str, ...] = ()
    reasoning: str = ""
    finish_reasons: tuple[str | None, ...] = ()
    usage: Usage | None = None
    cost: Cost = field(default_factory=lambda: Cost(Decimal(0), "computed"))
    """Batch price; a request that produced nothing is not billed ($0)."""
    model: str | None = None
    """The model that answered, as the provider names it."""
    error: str | None = None
    status_code: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def text(self) -> str:
        return self.texts[0] if self.texts else ""


@dataclass(frozen=True)
class BatchResults:
    job: BatchJob
    items: dict[str, ItemResult]
    """By custom id, in the order the caller expected them (else as they came back)."""

    @property
    def failed(self) -> list[ItemResult]:
        return [item for item in self.items.values() if not item.ok]

    @property
    def cost(self) -> Cost:
        known = [item.cost.usd for item in self.items.values()]
        if any(usd is None for usd in known):
            return Cost.unknown()
        return Cost(sum((usd for usd in known if usd is not None), Decimal(0)), "computed")

    def summary(self) -> str:
        """One line: what came back and what did not (``think batch`` prints it)."""
        by_status: dict[str, int] = {}
        for item in self.items.values():
            by_status[item.status] = by_status.get(item.status, 0) + 1
        parts = ", ".join(f"{count} {status}" for status, count in by_status.items())
        how = self.job.outcome or self.job.status
        return f"{self.job.provider} batch {self.job.id} {how}: {parts or 'no results'}"


@dataclass(frozen=True)
class PollPolicy:
    initial: float = 5.0
    """Seconds before the second poll; each wait after it is ``factor`` times longer."""
    factor: float = 1.5
    max_interval: float = 60.0
    deadline: float = 24 * 3600.0
    """Seconds of polling before :func:`wait` gives up (the job keeps running)."""


class BatchPending(ProviderError):
    """The job did not end within the poll deadline; it is still running at the provider."""

    exit_code = ExitCode.PENDING

    def __init__(self, job: BatchJob, waited: float) -> None:
        super().__init__(
            f"{job.provider}: batch {job.id} is still {job.status} after {waited:.0f}s "
            f"({job.counts.succeeded + job.counts.errored} of {job.counts.total} done); "
            f"check it later with `think batch status {job.id}`"
        )
        self.job = job


class BatchApi(Protocol):
    """One provider's batch API."""

    name: str
    price_provider: str | None

    async def submit(self, requests: Sequence[BatchRequest]) -> BatchJob: ...

    async def status(self, job_id: str) -> BatchJob: ...

    async def cancel(self, job_id: str) -> BatchJob: ...

    async def fetch(self, job: BatchJob) -> list[RawItem]:
        """What the provider returned for an ended job, line by line."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class RawItem:
    """One returned line, parsed by the protocol: its events if it succeeded, else why not."""

    custom_id: str
    status: ItemStatus
    events: tuple[StreamEvent, ...] = ()
    model: str | None = None
    error: str | None = None
    status_code: int | None = None


def check_requests(provider: str, requests: Sequence[BatchRequest]) -> None:
    """Refuse an empty job or one whose custom ids are not unique (results are matched by
    them) before anything is sent."""
    if not requests:
        raise UsageError(f"{provider}: a batch needs at least one request")
    seen: set[str] = set()
    for item in requests:
        if not item.custom_id or item.custom_id in seen:
            raise UsageError(f"{provider}: batch custom ids must be unique and non-empty")
        seen.add(item.custom_id)


# --------------------------------------------------------------------------------------------
# Polling


async def wait(
    api: BatchApi,
    job_id: str,
    policy: PollPolicy,
    *,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = time.monotonic,
    on_poll: Callable[[BatchJob], None] | None = None,
) -> BatchJob:
    """Poll ``job_id`` until it ends, waiting ``initial``, then ``factor`` times longer each
    time (at most ``max_interval``); raises :class:`BatchPending` once ``deadline`` seconds
    have passed. A failed poll is retried by the HTTP layer's bounded retries."""
    start = clock()

    def remaining() -> float:
        return policy.deadline - (clock() - start)

    def interval(state: RetryCallState) -> float:
        step = policy.initial * policy.factor ** (state.attempt_number - 1)
        return max(0.0, min(step, policy.max_interval, remaining()))

    async def poll() -> BatchJob:
        job = await api.status(job_id)
        if on_poll is not None:
            on_poll(job)
        return job

    retrying = AsyncRetrying(
        retry=retry_if_result(lambda job: not job.ended),
        wait=interval,
        stop=lambda state: remaining() <= 0,
        sleep=sleep,
    )
    try:
        job: BatchJob = await retrying(poll)
    except RetryError as exc:
        last: BatchJob = exc.last_attempt.result()
        raise BatchPending(last, clock() - start) from None
    return job


# --------------------------------------------------------------------------------------------
# Results


async def results(
    api: BatchApi,
    job: BatchJob,
    *,
    expected: Mapping[str, str] | None = None,
    price_for: PriceFor | None = None,
) -> BatchResults:
    """Every result of an ended ``job``. ``expected`` (custom id → model id as submitted)
    orders them, prices them under the submitted model id and reports the ids the provider
    did not return as ``missing``; ``price_for`` gives standard prices (None: unpriced)."""
    if not job.ended:
        raise ProviderError(
            f"{job.provider}: batch {job.id} is still {job.status}; its results are not ready"
        )
    raw = await api.fetch(job)
    found = {item.custom_id: item for item in raw}
    order: Iterable[str] = expected.keys() if expected is not None else found.keys()
    items: dict[str, ItemResult] = {}
    for custom_id in order:
        item = found.get(custom_id)
        model = expected.get(custom_id) if expected is not None else None
        if item is None:
            items[custom_id] = ItemResult(
                custom_id,
                "missing",
                error=f"the provider returned no result for it (the batch {job.outcome})",
            )
            continue
        items[custom_id] = _item(item, model, price_for, api.price_provider)
    for custom_id, item in found.items():  # returned but not expected: kept, not dropped
        if custom_id not in items:
            items[custom_id] = _item(item, None, price_for, api.price_provider)
    return BatchResults(job, items)


async def run(
    api: BatchApi,
    requests: Sequence[BatchRequest],
    policy: PollPolicy,
    *,
    price_for: PriceFor | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = time.monotonic,
) -> BatchResults:
    """Submit, wait for the end, fetch: one round of ``think batch --mode batch``."""
    job = await api.submit(requests)
    job = await wait(api, job.id, policy, sleep=sleep, clock=clock)
    expected = {r.custom_id: r.request.model for r in requests}
    return await results(api, job, expected=expected, price_for=price_for)


def _item(
    raw: RawItem, model: str | None, price_for: PriceFor | None, price_provider: str | None
) -> ItemResult:
    if raw.status != "succeeded":
        return ItemResult(
            raw.custom_id,
            raw.status,
            model=raw.model,
            error=raw.error,
            status_code=raw.status_code,
        )
    texts: dict[int, list[str]] = {}
    reasoning: list[str] = []
    finish: dict[int, str] = {}
    usage: Usage | None = None
    for event in raw.events:
        if isinstance(event, TextDelta):
            texts.setdefault(event.index, []).append(event.text)
        elif isinstance(event, ReasoningDelta):
            reasoning.append(event.text)
        elif isinstance(event, ChoiceFinished):
            finish[event.index] = event.reason
        elif isinstance(event, UsageReported):
            usage = event.usage
    n = max([0, *texts, *finish]) + 1
    priced = model or raw.model
    price = price_for(priced) if price_for is not None and priced else None
    return ItemResult(
        raw.custom_id,
        "succeeded",
        texts=tuple("".join(texts.get(i, [])) for i in range(n)),
        reasoning="".join(reasoning),
        finish_reasons=tuple(finish.get(i) for i in range(n)),
        usage=usage,
        cost=call_cost(batch_price(price, price_provider), usage),
        model=raw.model,
        status_code=raw.status_code,
    )
