"""The ledger's rows as typed records, decoded once: JSON columns parsed, money as
:class:`~decimal.Decimal`, flags as booleans. ``row`` keeps the stored values as they are
(for ``--csv`` and export)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from think.money import usd_fields, usd_from_ledger

JSON_RUN_FIELDS = ("models", "votes", "stages")


def _usd(value: float | int | None) -> Decimal | None:
    return None if value is None else usd_from_ledger(value).normalize()


def _json(value: str | None, empty: Any) -> Any:
    return json.loads(value) if value else empty


@dataclass(frozen=True)
class StoredRun:
    """One ``runs`` row."""

    row: dict[str, Any]
    id: str
    started_at: str
    status: str
    exit_code: int | None
    duration_ms: int | None
    strategy: str
    models: list[str]
    answer_model: str | None
    cost_usd: Decimal | None
    cost_source: str | None
    max_cost_usd: Decimal | None
    reserved_usd: Decimal | None
    strong_only_cost_usd: Decimal | None
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cached_tokens: int
    votes: dict[str, int]
    stages: list[str]
    escalated: bool
    escalation_reason: str | None
    error: str | None
    no_log: bool
    prompt: str | None
    answer: str | None
    answer_shape: str | None
    verdict: str | None
    p_accept: float | None
    reused_from: str | None = None
    """The run whose answer this one reused (status ``reused``)."""
    username: str | None = None
    """Who ran it (NULL: a run recorded before migration 9, or no name was known)."""
    host: str | None = None
    """The host whose process ran it (``reserved_host``)."""
    budget_timezone: str | None = None
    """The zone its spending-cap reservation counted days and months in (None: no cap)."""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredRun:
        return cls(
            row=dict(row),
            id=row["id"],
            started_at=row["started_at"],
            status=row["status"],
            exit_code=row.get("exit_code"),
            duration_ms=row.get("duration_ms"),
            strategy=row["strategy"],
            models=_json(row.get("models"), []),
            answer_model=row.get("answer_model"),
            cost_usd=_usd(row.get("cost_usd")),
            cost_source=row.get("cost_source"),
            max_cost_usd=_usd(row.get("max_cost_usd")),
            reserved_usd=_usd(row.get("reserved_usd")),
            strong_only_cost_usd=_usd(row.get("strong_only_cost_usd")),
            input_tokens=row.get("input_tokens") or 0,
            output_tokens=row.get("output_tokens") or 0,
            reasoning_tokens=row.get("reasoning_tokens") or 0,
            cached_tokens=row.get("cached_tokens") or 0,
            votes=_json(row.get("votes"), {}),
            stages=_json(row.get("stages"), []),
            escalated=bool(row.get("escalated")),
            escalation_reason=row.get("escalation_reason"),
            error=row.get("error"),
            no_log=bool(row.get("no_log")),
            prompt=row.get("prompt"),
            answer=row.get("answer"),
            answer_shape=row.get("answer_shape"),
            verdict=row.get("verdict"),
            p_accept=row.get("p_accept"),
            reused_from=row.get("reused_from"),
            username=row.get("username"),
            host=row.get("reserved_host"),
            budget_timezone=row.get("budget_timezone"),
        )

    def document(self) -> dict[str, Any]:
        """The stored row with its JSON columns decoded (``--json`` and export)."""
        decoded = dict(self.row)
        decoded.update(models=self.models, votes=self.votes, stages=self.stages)
        return usd_fields(decoded)


@dataclass(frozen=True)
class StoredCall:
    """One ``calls`` row."""

    row: dict[str, Any]
    seq: int
    stage: str | None
    provider: str
    model: str
    status: str
    error: str | None
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost_usd: Decimal | None
    cost_source: str | None
    latency_ms: int | None
    ttft_ms: int | None
    finish_reason: str | None
    reasoning: str | None
    requested_tier: str | None = None
    served_tier: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredCall:
        return cls(
            row=dict(row),
            seq=row["seq"],
            stage=row.get("stage"),
            provider=row["provider"],
            model=row["model"],
            status=row["status"],
            error=row.get("error"),
            input_tokens=row.get("input_tokens") or 0,
            output_tokens=row.get("output_tokens") or 0,
            reasoning_tokens=row.get("reasoning_tokens") or 0,
            cost_usd=_usd(row.get("cost_usd")),
            cost_source=row.get("cost_source"),
            latency_ms=row.get("latency_ms"),
            ttft_ms=row.get("ttft_ms"),
            finish_reason=row.get("finish_reason"),
            reasoning=row.get("reasoning"),
            requested_tier=row.get("requested_tier"),
            served_tier=row.get("served_tier"),
        )
