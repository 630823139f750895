"""The ``runs`` and ``calls`` rows written for a run record and a call record."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from think import __version__

if TYPE_CHECKING:  # think.events imports pydantic (via pricing): too slow for `think ledger`
    from think import events
    from think.usage import Usage

CONTENT_FIELDS_RUN = ("prompt", "answer", "final_answer", "votes", "fingerprint")
CONTENT_FIELDS_CALL = ("text", "reasoning")
"""What ``--no-log`` leaves out: the text of prompts, answers and reasoning, and the prompt's
fingerprint (a hash of it: nothing to reuse, and nothing to match a guessed prompt against)."""


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _reported(usage: Usage | None) -> str | None:
    """A provider's usage report as it came (JSON; a cost as text: it may be NaN)."""
    if usage is None:
        return None
    shown: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cached_tokens": usage.cached_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
    }
    if usage.reported_cost_usd is not None:
        shown["cost_usd"] = str(usage.reported_cost_usd)
    return json.dumps(shown)


def login_name() -> str | None:
    """Who this process runs as (``getpass.getuser``: ``LOGNAME``, ``USER``, …, then the
    password database); None when nothing names them (a container's bare uid)."""
    import getpass

    try:
        return getpass.getuser() or None
    except (OSError, KeyError, ImportError):  # no name for this uid (OSError from 3.13)
        return None


def run_row(
    run: events.RunRecord, *, content: bool = True, user: str | None = None
) -> dict[str, Any]:
    """The ``runs`` row of a run record; ``content=False`` leaves the text out (--no-log).
    ``user`` is who ran it (the ``user`` setting), else the login name.

    A finished run's row also settles its spending-cap reservation (``reserved_usd`` back to
    NULL): the recorded ``cost_usd`` takes its place.
    """
    usage = run.usage
    row: dict[str, Any] = {
        "id": run.id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_ms": run.duration_ms,
        "status": run.status,
        "exit_code": run.exit_code,
        "strategy": run.strategy,
        "prompt": run.prompt,
        "answer": run.answer,
        "answer_model": run.answer_model,
        "final_answer": run.final_answer,
        "models": json.dumps(list(run.models)),
        "calls": run.calls,
        "cost_usd": _float(run.cost.usd) if run.cost else None,
        "cost_source": run.cost.source if run.cost else None,
        "max_cost_usd": _float(run.max_cost_usd),
        "strong_only_cost_usd": _float(run.strong_only_cost_usd),
        "input_tokens": usage.input_tokens if usage else None,
        "output_tokens": usage.output_tokens if usage else None,
        "reasoning_tokens": usage.reasoning_tokens if usage else None,
        "cached_tokens": usage.cached_tokens if usage else None,
        "votes": json.dumps(run.votes) if run.votes else None,
        "agreement": run.agreement,
        "escalated": int(run.escalated),
        "escalation_reason": run.escalation_reason,
        "stages": json.dumps(list(run.stages)) if run.stages else None,
        "answer_shape": run.answer_shape,
        "verdict": run.verdict,
        "p_accept": run.p_accept,
        "error": run.error,
        "think_version": __version__,
        "no_log": 0 if content else 1,
        "fingerprint": run.fingerprint,
        "reused_from": run.reused_from,
        "batch_id": run.batch_id,
        "username": user or login_name(),
    }
    if run.budget_timezone is not None:  # a capped run's (a row without it keeps its own)
        row["budget_timezone"] = run.budget_timezone
    if not content:
        row.update(dict.fromkeys(CONTENT_FIELDS_RUN))
    if run.status == "running":  # the process that runs it: see think.ledger.abandoned
        from think.ledger.abandoned import this_host

        row.update(reserved_pid=os.getpid(), reserved_host=this_host())
    else:
        row.update(reserved_usd=None, reserved_at=None)
    return row


def call_row(call: events.CallRecord, *, content: bool = True) -> dict[str, Any]:
    finish = [reason for reason in call.finish_reasons if reason]
    row: dict[str, Any] = {
        "id": call.id,
        "run_id": call.run_id,
        "seq": call.seq,
        "stage": call.stage,
        "provider": call.provider,
        "model": call.model,
        "started_at": call.started_at,
        "status": call.status,
        "error": call.error,
        "latency_ms": call.latency_ms,
        "ttft_ms": call.ttft_ms,
        "n": call.n,
        "attempts": call.attempts,
        "finish_reason": ",".join(finish) if finish else None,
        "input_tokens": call.usage.input_tokens,
        "output_tokens": call.usage.output_tokens,
        "reasoning_tokens": call.usage.reasoning_tokens,
        "cached_tokens": call.usage.cached_tokens,
        "cache_write_tokens": call.usage.cache_write_tokens,
        "usage_source": call.usage_source,
        "cost_usd": _float(call.cost.usd),
        "cost_source": call.cost.source,
        "text": call.texts[0] if call.n == 1 else json.dumps(list(call.texts)),
        "reasoning": call.reasoning or None,
        "anomaly": call.anomaly,
        "reported_usage": _reported(call.reported_usage),
        "requested_tier": call.requested_tier,
        "served_tier": call.served_tier,
    }
    if not content:
        row.update(dict.fromkeys(CONTENT_FIELDS_CALL))
    return row
