"""``think ask`` (the default command): answer one prompt."""

from __future__ import annotations

from typing import Annotated

import typer

from think.config import defaults

MODELS = "Models"
BUDGET = "Budget"
STRATEGY = "Strategy"
INPUT = "Input"
OUTPUT = "Output"
BY_KEY = "by API key: think config show"
"""The default model's help: which models are used depends on the keys that are set."""

FileOpt = Annotated[
    str | None,
    typer.Option(
        "--file",
        "-f",
        metavar="FILE",
        rich_help_panel=INPUT,
        help="Read the prompt (or the material) from FILE; - is stdin.",
    ),
]


def ask(
    prompt: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PROMPT", help="The prompt. With piped stdin, the instruction about it."
        ),
    ] = None,
    file: FileOpt = None,
    system: Annotated[
        str | None, typer.Option(metavar="TEXT", rich_help_panel=INPUT, help="System prompt.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            metavar="MODEL",
            rich_help_panel=MODELS,
            show_default=BY_KEY,
            help="The model for single-model strategies (provider:model).",
        ),
    ] = None,
    cheap: Annotated[
        str | None,
        typer.Option(
            metavar="MODEL",
            rich_help_panel=MODELS,
            show_default=BY_KEY,
            help="Cheap model for cascades (provider:model).",
        ),
    ] = None,
    strong: Annotated[
        str | None,
        typer.Option(
            metavar="MODEL",
            rich_help_panel=MODELS,
            show_default=BY_KEY,
            help="Strong reasoning model for cascades (provider:model).",
        ),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(
            metavar="MODEL",
            rich_help_panel=MODELS,
            show_default="the cheap model",
            help="Model that judges open answers (and the judge verifier).",
        ),
    ] = None,
    effort: Annotated[
        str | None,
        typer.Option(
            metavar="LEVEL",
            rich_help_panel=MODELS,
            show_default=defaults.EFFORT,
            help="Reasoning effort of the strong model: low|medium|high.",
        ),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(
            metavar="TEMP",
            rich_help_panel=MODELS,
            show_default="the provider's",
            help="Sampling temperature, 0 to 2.",
        ),
    ] = None,
    max_cost: Annotated[
        float | None,
        typer.Option(
            metavar="USD",
            rich_help_panel=BUDGET,
            show_default="no limit",
            help="Never spend more than this many USD on the run.",
        ),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            rich_help_panel=BUDGET,
            show_default=str(defaults.MAX_TOKENS),
            help="Output-token limit per call.",
        ),
    ] = None,
    tier: Annotated[
        str | None,
        typer.Option(
            metavar="TIER",
            rich_help_panel=BUDGET,
            show_default="the provider's (none asked)",
            help="Service tier of every call: standard, flex (cheaper, slower) or priority; "
            "flex,standard falls back to standard when flex has no capacity.",
        ),
    ] = None,
    reuse: Annotated[
        bool | None,
        typer.Option(
            "--reuse/--no-reuse",
            rich_help_panel=BUDGET,
            show_default="at temperature 0 with single",
            help="Answer at $0 with an identical earlier run's answer from the ledger.",
        ),
    ] = None,
    reuse_max_age: Annotated[
        str | None,
        typer.Option(
            metavar="AGE",
            rich_help_panel=BUDGET,
            show_default=defaults.REUSE_MAX_AGE,
            help="Reuse answers at most this old: 30m, 12h, 7d, 2w.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            rich_help_panel=BUDGET,
            help="Print the plan's worst-case and expected cost; spend nothing.",
        ),
    ] = False,
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy",
            "-s",
            metavar="NAME",
            rich_help_panel=STRATEGY,
            show_default="cascade with two models, else single",
            help="single, reason, vote, cascade or refine.",
        ),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            "-n",
            metavar="N",
            rich_help_panel=STRATEGY,
            show_default=str(defaults.SAMPLES),
            help="Samples for vote.",
        ),
    ] = None,
    agreement: Annotated[
        float | None,
        typer.Option(
            metavar="SHARE",
            rich_help_panel=STRATEGY,
            help="Cascade: accept when this share of up to cascade_max_samples (default 4) "
            "agree (k of m), instead of the default: the first 2 agree, then 3 of 5.",
        ),
    ] = None,
    verifier: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            rich_help_panel=STRATEGY,
            show_default=defaults.VERIFIER,
            help="none or judge (an LLM checks the answer).",
        ),
    ] = None,
    accept_threshold: Annotated[
        float | None,
        typer.Option(
            metavar="SHARE",
            rich_help_panel=STRATEGY,
            show_default=f"{defaults.ACCEPT_THRESHOLD}: 2 of 3",
            help="Cascade, open answers: accept when this share of the judge's verdicts pass.",
        ),
    ] = None,
    verify_cmd: Annotated[
        str | None,
        typer.Option(
            metavar="CMD",
            rich_help_panel=STRATEGY,
            help="Command that gets the answer on stdin; exit 0 accepts it.",
        ),
    ] = None,
    rounds: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            rich_help_panel=STRATEGY,
            show_default=str(defaults.ROUNDS),
            help="Refine: critique-and-revise rounds.",
        ),
    ] = None,
    answer_format: Annotated[
        str | None,
        typer.Option(
            metavar="FORMAT",
            rich_help_panel=STRATEGY,
            show_default=defaults.ANSWER_FORMAT,
            help="auto|number|choice|yesno|date|text|regex:PATTERN (short answers) or open "
            "(prose, proofs, code: judged whole).",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            rich_help_panel=STRATEGY,
            help="Use the settings of [profiles.NAME] (saved by think calibrate).",
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            rich_help_panel=OUTPUT,
            help="Print one JSON document instead of the answer.",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", rich_help_panel=OUTPUT, help="No live view or summary on stderr."
        ),
    ] = False,
    hide_reasoning: Annotated[
        bool | None,
        typer.Option(
            "--hide-reasoning",
            rich_help_panel=OUTPUT,
            help="Do not show the model's reasoning text live (it is still in the ledger).",
        ),
    ] = None,
    no_log: Annotated[
        bool | None,
        typer.Option(
            "--no-log",
            rich_help_panel=OUTPUT,
            help="Record cost, tokens and timings but no prompt, answer or reasoning.",
            show_default=False,
        ),
    ] = None,
) -> int:
    from think.cli.ask_run import run_query
    from think.cli.prompt_input import build_prompt
    from think.config.settings import load_settings

    text = build_prompt(prompt or [], file)
    settings = load_settings(
        {
            "model": model,
            "cheap": cheap,
            "strong": strong,
            "strategy": strategy,
            "samples": samples,
            "agreement": agreement,
            "verifier": verifier,
            "judge": judge,
            "accept_threshold": accept_threshold,
            "verify_cmd": verify_cmd,
            "rounds": rounds,
            "effort": effort,
            "answer_format": answer_format,
            "max_cost": max_cost,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "system": system,
            "hide_reasoning": hide_reasoning,
            "profile": profile,
            "no_log": no_log,
            "reuse": reuse,
            "reuse_max_age": reuse_max_age,
            # --tier is every call's: it wins over the per-role keys of the config too
            **dict.fromkeys(("tier", "cheap_tier", "strong_tier", "judge_tier"), tier),
        }
    )
    if dry_run:
        from think.cli.dry_run import print_plan

        return print_plan(text, settings, json_output=json_output)
    return run_query(text, settings, json_output=json_output, quiet=quiet)
