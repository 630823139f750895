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
MODES = ("now",)
"""The modes there are; ``batch`` (the providers' batch APIs) is not available yet."""


def batch_command(
    prompts: Annotated[
        str,
        typer.Argument(
            metavar="PROMPTS",
            help='JSONL: a prompt per line, a JSON string or {"id", "prompt", "input"}; '
            "- is stdin.",
        ),
    ],
    mode: Annotated[
        str,
        typer.Option(
            metavar="MODE",
            rich_help_panel=BATCH,
            help="now: concurrent runs through the normal strategy (batch, the providers' "
            "batch APIs, is not available yet).",
        ),
    ] = "now",
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
    from think.cli.batch_run import BatchOptions, read_prompts, run_batch
    from think.errors import UsageError

    if mode not in MODES:
        if mode == "batch":
            raise UsageError("--mode batch (the providers' batch APIs) is not available yet")
        raise UsageError(f"--mode: {mode!r} is not one of {', '.join(MODES)}")
    source, text = read_prompts(prompts)
    settings = query_settings(locals())
    options = BatchOptions(
        concurrency=concurrency, out=out, results=results, restart=restart, quiet=quiet
    )
    return run_batch(source, text, settings, options)
