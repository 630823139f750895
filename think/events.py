"""The typed event stream of a run.

Strategies emit these; the live display, the ledger and the ``--json`` summary consume the
same stream. Records are small and immutable; the call and run records carry everything the
ledger stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from think.pricing import Cost
from think.usage import CallUsageSource, Usage

CallStatus = Literal["running", "ok", "error", "cut", "cancelled", "budget"]
RunStatus = Literal["running", "ok", "error", "budget_exhausted", "cancelled", "reused"]
"""``reused``: answered from the ledger, by an earlier run's answer (see :mod:`think.reuse`)."""


@dataclass(frozen=True)
class CallRecord:
    id: str
    run_id: str
    seq: int
    stage: str
    provider: str
    model: str
    started_at: str
    status: CallStatus
    latency_ms: int
    ttft_ms: int | None
    n: int
    texts: tuple[str, ...]
    reasoning: str
    finish_reasons: tuple[str | None, ...]
    usage: Usage
    """As reported by the provider, else counted locally."""
    usage_source: CallUsageSource
    """``unknown`` when the call did not finish: the provider never reported its usage
    and the token counts are local estimates of what was streamed."""
    cost: Cost
    attempts: int
    error: str | None = None
    anomaly: str | None = None
    """Why what the provider reported or sent is not believed (usage counts out of range, a
    cost that is negative, not finite or far above the estimate, output past the limit)."""
    reported_usage: Usage | None = None
    """The usage as the provider reported it, when ``usage`` is counted here instead."""
    requested_tier: str | None = None
    """The service tier the request asked for (:mod:`think.tiers`); None: none asked."""
    served_tier: str | None = None
    """The tier the provider says served it (what the call is priced at); None: not said."""
    tier_note: str | None = None
    """Why the call is priced at another tier than it was served at (a price unknown)."""


@dataclass(frozen=True)
class RunRecord:
    id: str
    started_at: str
    prompt: str
    strategy: str
    status: RunStatus
    models: tuple[str, ...]
    max_cost_usd: Decimal | None
    finished_at: str | None = None
    duration_ms: int | None = None
    answer: str | None = None
    answer_model: str | None = None
    exit_code: int | None = None
    error: str | None = None
    cost: Cost | None = None
    usage: Usage | None = None
    calls: int = 0
    final_answer: str | None = None
    """The extracted, normalised final answer, when the strategy extracts one."""
    votes: dict[str, int] = field(default_factory=dict)
    agreement: float | None = None
    escalated: bool = False
    escalation_reason: str | None = None
    strong_only_cost_usd: Decimal | None = None
    stages: tuple[str, ...] = ()
    answer_shape: str | None = None
    """``short`` (judged by agreement) or ``open`` (judged as a whole), when decided."""
    verdict: str | None = None
    """The open-ended gate's verdict on the cheap answer: ``pass`` or ``fail``."""
    p_accept: float | None = None
    """The judged probability that the cheap answer is good enough."""
    fingerprint: str | None = None
    """What shapes the answer, hashed (:func:`think.reuse.fingerprint`); ``None``: unknown."""
    reused_from: str | None = None
    """The run whose answer this run reused (status ``reused``)."""
    batch_id: str | None = None
    """The ``think batch`` this run was one prompt of."""
    budget_timezone: str | None = None
    """The zone its spending-cap reservation counted the day and month in (None: no cap)."""


@dataclass(frozen=True)
class RunStarted:
    run: RunRecord


@dataclass(frozen=True)
class CallStarted:
    call_id: str
    stage: str
    model: str
    n: int
    reserved_usd: Decimal | None
    priced: bool = True
    """False when the model's price is unknown (its cost will be unknown too)."""
    in_flight: CallRecord | None = None
    """The call's ledger record while it runs (status ``running``, charged its reservation)."""


@dataclass(frozen=True)
class AnswerText:
    """Answer text a call streamed (a provider's :class:`~think.providers.base.TextDelta`,
    tagged with its call)."""

    call_id: str
    text: str
    index: int = 0


@dataclass(frozen=True)
class ReasoningText:
    """Reasoning text a call streamed, tagged with its call."""

    call_id: str
    text: str
    index: int = 0


@dataclass(frozen=True)
class CallProgress:
    """Running totals of a call in flight (output tokens counted locally so far)."""

    call_id: str
    output_tokens: int
    cost_usd: Decimal | None


@dataclass(frozen=True)
class CallFinished:
    call: CallRecord


@dataclass(frozen=True)
class BudgetUpdate:
    spent_usd: Decimal
    reserved_usd: Decimal
    cap_usd: Decimal | None


@dataclass(frozen=True)
class StageChanged:
    """The strategy moved on: ``cheap`` → ``check`` → ``escalate`` (or ``vote``, ``refine``…).

    Sent again for the current stage, it updates the stage's ``detail`` (the cascade says
    what its votes need once the answer's kind is known)."""

    stage: str
    detail: str = ""


@dataclass(frozen=True)
class VoteCast:
    """A sample's extracted final answer (``None``: nothing extractable)."""

    call_id: str
    model: str
    answer: str | None
    votes: dict[str, int]
    agreement: float


@dataclass(frozen=True)
class Decision:
    """The check's verdict: accept the cheap answer, or escalate and why."""

    escalated: bool
    reason: str


@dataclass(frozen=True)
class RunFinished:
    run: RunRecord


Event = (
    RunStarted
    | CallStarted
    | AnswerText
    | ReasoningText
    | CallProgress
    | CallFinished
    | BudgetUpdate
    | StageChanged
    | VoteCast
    | Decision
    | RunFinished
)
EventSink = Callable[[Event], None]


class EventBus:
    """Fans each event out to every sink, in order."""

    def __init__(self, *sinks: EventSink) -> None:
        self._sinks = list(sinks)

    def add(self, sink: EventSink) -> None:
        self._sinks.append(sink)

    def __call__(self, event: Event) -> None:
        for sink in self._sinks:
            sink(event)
