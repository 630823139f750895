"""``think ask`` (the default command): answer one prompt."""

from __future__ import annotations

from typing import Annotated

import typer

from think.cli.ask_options import (
    AcceptThresholdOpt,
    AgreementOpt,
    AnswerFormatOpt,
    CheapOpt,
    DryRunOpt,
    EffortOpt,
    FileOpt,
    HideReasoningOpt,
    JsonOpt,
    JudgeOpt,
    MaxCostOpt,
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

PromptOpt = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="PROMPT", help="The prompt. With piped stdin, the instruction about it."
    ),
]


def ask(
    prompt: PromptOpt = None,
    file: FileOpt = None,
    system: SystemOpt = None,
    model: ModelOpt = None,
    cheap: CheapOpt = None,
    strong: StrongOpt = None,
    judge: JudgeOpt = None,
    effort: EffortOpt = None,
    temperature: TemperatureOpt = None,
    max_cost: MaxCostOpt = None,
    max_tokens: MaxTokensOpt = None,
    tier: TierOpt = None,
    reuse: ReuseOpt = None,
    reuse_max_age: ReuseMaxAgeOpt = None,
    dry_run: DryRunOpt = False,
    strategy: StrategyOpt = None,
    samples: SamplesOpt = None,
    agreement: AgreementOpt = None,
    verifier: VerifierOpt = None,
    accept_threshold: AcceptThresholdOpt = None,
    verify_cmd: VerifyCmdOpt = None,
    rounds: RoundsOpt = None,
    answer_format: AnswerFormatOpt = None,
    profile: ProfileOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    hide_reasoning: HideReasoningOpt = None,
    no_log: NoLogOpt = None,
) -> int:
    from think.cli.ask_run import run_query
    from think.cli.prompt_input import build_prompt

    text = build_prompt(prompt or [], file)
    settings = query_settings(locals())
    if dry_run:
        from think.cli.dry_run import print_plan

        return print_plan(text, settings, json_output=json_output)
    return run_query(text, settings, json_output=json_output, quiet=quiet)
