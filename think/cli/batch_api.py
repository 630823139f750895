"""``think batch --mode batch``: the batch's runs over the providers' batch APIs
(:mod:`think.batch.rounds`), and ``think batch status|cancel ID``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from think.batch.job_state import JobState
from think.batch.rounds import DeferredProvider, RoundReport, Rounds
from think.cli.console import report_warning
from think.errors import UsageError
from think.providers.batch_jobs import BatchJob, PollPolicy

if TYPE_CHECKING:
    from think.config.settings import Settings
    from think.providers.base import Provider
    from think.providers.registry import ProviderCatalog
    from think.run import Query

JOB_PREFIXES = {"batch_": "openai", "msgbatch_": "anthropic"}
"""Which provider a job id belongs to, by the id's prefix (OpenAI's ``batch_…``,
Anthropic's ``msgbatch_…``); ``--provider`` names another endpoint of the same protocol."""


def check_settings(settings: Settings) -> None:
    """What ``--mode batch`` cannot do, said before anything is sent."""
    tiers = (settings.tier, settings.cheap_tier, settings.strong_tier, settings.judge_tier)
    asked = [tier for tier in tiers if tier is not None and tier != "standard"]
    if asked:
        raise UsageError(
            f"--mode batch: the batch API has its own price (50% off); --tier {asked[0]} "
            "does not apply (drop it, or use --mode now)"
        )


def upfront(queries: list[Query]) -> list[Query]:
    """The queries with every cheap sample drawn at once (one round for all of them)."""
    from think.strategies.cascade import Cascade

    return [
        dataclasses.replace(query, strategy=dataclasses.replace(query.strategy, upfront=True))
        if isinstance(query.strategy, Cascade)
        else query
        for query in queries
    ]


def job_state_path(results: Path) -> Path:
    return results.with_name(results.stem + ".jobs.json")


def open_rounds(
    catalog: ProviderCatalog, state_path: Path, polling: PollPolicy, *, quiet: bool
) -> Rounds:
    state = JobState(state_path)

    def sent(number: int, job: BatchJob, requests: int) -> None:
        if not quiet:
            report_warning(
                f"round {number}: {job.provider} batch {job.id} ({requests} requests, "
                f"{job.status}); Ctrl-C leaves it running and the same command resumes it"
            )

    def ended(report: RoundReport) -> None:
        for line in [] if quiet else report.summaries:  # -q: the failed prompts still warn
            report_warning(f"round {report.number}: {line}")

    return Rounds(catalog.batch_api, polling, state, on_round=ended, on_submit=sent)


def deferred(create: Callable[[str], Provider], rounds: Rounds) -> Callable[[str], Provider]:
    """The providers of ``--mode batch``: their calls wait for the round's batch job."""

    def make(name: str) -> Provider:
        return DeferredProvider(create(name), rounds)

    return make


# --------------------------------------------------------------------------------------------
# think batch status|cancel ID


def job_provider(job_id: str, provider: str | None) -> str:
    if provider is not None:
        return provider
    for prefix, name in JOB_PREFIXES.items():
        if job_id.startswith(prefix):
            return name
    raise UsageError(
        f"{job_id!r} is not an OpenAI (batch_…) or Anthropic (msgbatch_…) batch id; "
        "name its provider with --provider"
    )


def describe(job: BatchJob) -> str:
    counts = job.counts
    done = counts.succeeded + counts.errored + counts.canceled + counts.expired
    parts = [f"{job.provider} batch {job.id}: {job.outcome or job.status}"]
    parts.append(f"{done} of {counts.total} done")
    if counts.errored or counts.expired or counts.canceled:
        parts.append(
            f"{counts.succeeded} succeeded, {counts.errored} errored, "
            f"{counts.expired} expired, {counts.canceled} canceled"
        )
    if job.created_at:
        parts.append(f"created {job.created_at}")
    if job.expires_at and not job.ended:
        parts.append(f"expires {job.expires_at}")
    parts += list(job.errors[:1])
    return ", ".join(parts)


def job_command(action: str, job_id: str, provider: str | None, settings: Settings) -> int:
    """``think batch status ID`` / ``think batch cancel ID``: one line about the job."""
    import asyncio
    import sys

    from think.cli import wiring

    name = job_provider(job_id, provider)
    catalog = wiring.provider_catalog(settings)
    api = catalog.batch_api(name)

    async def act() -> BatchJob:
        try:
            return await (api.cancel(job_id) if action == "cancel" else api.status(job_id))
        finally:
            await api.aclose()

    job = asyncio.run(act())
    sys.stdout.write(describe(job) + "\n")
    return 0
