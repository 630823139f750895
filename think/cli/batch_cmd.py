"""``think batch``: a file of prompts, one JSON line of result per prompt, in input order."""

from __future__ import annotations

from typing import Annotated

import typer

from think.cli.ask_options import (
    BUDGET,
    AcceptThresholdOpt,
    AgreementOpt,
    AnswerFormatOpt,
    CheapOpt,
    EffortOpt,
    JudgeOpt,
    MaxTokensOpt,
    ModelOpt,
    NoLogOpt,
    ProfileOpt,
    QuietOpt,
    ReuseMaxAgeOpt,
    ReuseOpt,
    RoundsOpt,
    SamplesOpt,
    StrategyOpt,
    StrongOpt,
    SystemOpt,
    TemperatureOpt,
    TierOpt,
    VerifierOpt,
    VerifyCmdOpt,
    query_settings,
)

BATCH = "Batch"
MODES = ("now", "batch")
JOB_ACTIONS = ("status", "cancel")
"""``think batch status ID`` / ``think batch cancel ID`` (a prompts file of one of these
names is given as ``./status``)."""


def batch_command(
    prompts: Annotated[
        str,
        typer.Argument(
            metavar="PROMPTS",
            help='JSONL: a prompt per line, a JSON string or {"id", "prompt", "input"}; '
            "- is stdin.",
        ),
    ],
    job: Annotated[
        str | None,
        typer.Argument(
            metavar="ID",
            show_default=False,
            help="With status or cancel as PROMPTS: the batch job's id.",
        ),
    ] = None,
    mode: Annotated[
        str,
        typer.Option(
            metavar="MODE",
            rich_help_panel=BATCH,
            help="now: concurrent runs through the normal strategy; batch: the providers' "
            "batch APIs at half price, in rounds (cheap samples, then only the escalations).",
        ),
    ] = "now",
    wait: Annotated[
        str,
        typer.Option(
            metavar="DURATION",
            rich_help_panel=BATCH,
            help="--mode batch: poll a job this long (30m, 6h) before leaving it running "
            "(exit 9; the same command resumes).",
        ),
    ] = "24h",
    poll: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            min=0.0,
            rich_help_panel=BATCH,
            help="--mode batch: the first wait between polls (then 1.5x longer, at most 60s).",
        ),
    ] = 5.0,
    provider: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            rich_help_panel=BATCH,
            show_default="from the id",
            help="status/cancel: the provider of the job (batch_… is openai, msgbatch_… "
            "anthropic).",
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(metavar="N", min=1, rich_help_panel=BATCH, help="Runs in flight at once."),
    ] = 4,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            rich_help_panel=BATCH,
            show_default="stdout",
            help="Write the result lines to FILE.",
        ),
    ] = None,
    results: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            rich_help_panel=BATCH,
            show_default="under the user data dir",
            help="Results file (JSONL) to resume from and append to.",
        ),
    ] = None,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            rich_help_panel=BATCH,
            help="Ask every prompt again: forget the results kept from an earlier run.",
        ),
    ] = False,
    system: SystemOpt = None,
    model: ModelOpt = None,
    cheap: CheapOpt = None,
    strong: StrongOpt = None,
    judge: JudgeOpt = None,
    effort: EffortOpt = None,
    temperature: TemperatureOpt = None,
    max_cost: Annotated[
        float | None,
        typer.Option(
            metavar="USD",
            rich_help_panel=BUDGET,
            show_default="no limit",
            help="Never spend more than this many USD on the whole batch.",
        ),
    ] = None,
    max_tokens: MaxTokensOpt = None,
    tier: TierOpt = None,
    reuse: ReuseOpt = None,
    reuse_max_age: ReuseMaxAgeOpt = None,
    strategy: StrategyOpt = None,
    samples: SamplesOpt = None,
    agreement: AgreementOpt = None,
    verifier: VerifierOpt = None,
    accept_threshold: AcceptThresholdOpt = None,
    verify_cmd: VerifyCmdOpt = None,
    rounds: RoundsOpt = None,
    answer_format: AnswerFormatOpt = None,
    profile: ProfileOpt = None,
    quiet: QuietOpt = False,
    no_log: NoLogOpt = None,
) -> int:
    """Run every prompt of a JSONL file as its own run (the same options as a query), many
    at once, under one --max-cost; print one JSON line per prompt in input order. Results are
    kept as they land: the same command after Ctrl-C does not ask the finished prompts again."""
    from think.cli.batch_api import job_command
    from think.cli.batch_run import BatchOptions, read_prompts, run_batch
    from think.errors import UsageError
    from think.periods import parse_duration
    from think.providers.batch_jobs import PollPolicy

    settings = query_settings(locals())
    if prompts in JOB_ACTIONS:
        if job is None:
            raise UsageError(f"think batch {prompts} ID: give the batch job's id")
        return job_command(prompts, job, provider, settings)
    if job is not None:
        raise UsageError(f"unexpected argument {job!r} (status and cancel take a job id)")
    if mode not in MODES:
        raise UsageError(f"--mode: {mode!r} is not one of {', '.join(MODES)}")
    deadline = parse_duration(wait, "--wait").total_seconds()
    source, text = read_prompts(prompts)
    options = BatchOptions(
        concurrency=concurrency,
        out=out,
        results=results,
        restart=restart,
        quiet=quiet,
        mode=mode,
        polling=PollPolicy(initial=poll, deadline=deadline),
    )
    return run_batch(source, text, settings, options)
