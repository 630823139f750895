"""``think ask`` (the default command): answer one prompt."""

from __future__ import annotations

from typing import Annotated

import typer

FileOpt = Annotated[
    str | None,
    typer.Option("--file", "-f", help="Read the prompt (or the material) from FILE; - is stdin."),
]


def ask(
    prompt: Annotated[
        list[str] | None,
        typer.Argument(help="The prompt. With piped stdin, the instruction about it."),
    ] = None,
    file: FileOpt = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", help="The model for single-model strategies (provider:model)."
        ),
    ] = None,
    cheap: Annotated[
        str | None, typer.Option(help="Cheap model for cascades (provider:model).")
    ] = None,
    strong: Annotated[
        str | None, typer.Option(help="Strong reasoning model for cascades (provider:model).")
    ] = None,
    strategy: Annotated[
        str | None,
        typer.Option("--strategy", "-s", help="single, reason, vote, cascade or refine."),
    ] = None,
    samples: Annotated[
        int | None, typer.Option("--samples", "-n", help="Samples for vote (default 5).")
    ] = None,
    agreement: Annotated[
        float | None,
        typer.Option(
            help="Cascade: accept when this share of up to cascade_max_samples (default 4) "
            "agree (k of m), instead of the default: the first 2 agree, then 3 of 5."
        ),
    ] = None,
    verifier: Annotated[
        str | None, typer.Option(help="none or judge (an LLM checks the answer).")
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(help="Model that judges open answers (and the judge verifier)."),
    ] = None,
    accept_threshold: Annotated[
        float | None,
        typer.Option(
            help="Cascade, open answers: accept when this share of the judge's verdicts "
            "pass (default 0.66: 2 of 3)."
        ),
    ] = None,
    verify_cmd: Annotated[
        str | None,
        typer.Option(help="Command that gets the answer on stdin; exit 0 accepts it."),
    ] = None,
    rounds: Annotated[
        int | None, typer.Option(help="Refine: critique-and-revise rounds (default 2).")
    ] = None,
    effort: Annotated[
        str | None, typer.Option(help="Reasoning effort of the strong model: low|medium|high.")
    ] = None,
    answer_format: Annotated[
        str | None,
        typer.Option(
            help="auto|number|choice|yesno|date|text|regex:PATTERN (short answers) or open "
            "(prose, proofs, code: judged whole)."
        ),
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option(help="Never spend more than this many USD on the run.")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(help="Output-token limit per call (default 1024).")
    ] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of the answer.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No live view or summary on stderr.")
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(help="Use the settings of [profiles.NAME] (saved by think calibrate)."),
    ] = None,
    hide_reasoning: Annotated[
        bool | None,
        typer.Option(
            "--hide-reasoning",
            help="Do not show the model's reasoning text live (it is still in the ledger).",
        ),
    ] = None,
    no_log: Annotated[
        bool | None,
        typer.Option(
            "--no-log",
            help="Record cost, tokens and timings but no prompt, answer or reasoning.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the plan's worst-case and expected cost; spend nothing."
        ),
    ] = False,
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
        }
    )
    if dry_run:
        from think.cli.dry_run import print_plan

        return print_plan(text, settings, json_output=json_output)
    return run_query(text, settings, json_output=json_output, quiet=quiet)
