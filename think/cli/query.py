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
        str | None, typer.Option("--model", "-m", help="Model for `single`: provider:model.")
    ] = None,
    cheap: Annotated[
        str | None, typer.Option(help="Cheap model for cascades (provider:model).")
    ] = None,
    strong: Annotated[
        str | None, typer.Option(help="Strong reasoning model for cascades (provider:model).")
    ] = None,
    strategy: Annotated[
        str | None, typer.Option("--strategy", "-s", help="Strategy: single.")
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
) -> int:
    from think.cli.query_run import run_query
    from think.prompt_input import build_prompt
    from think.settings import load_settings

    text = build_prompt(prompt or [], file)
    settings = load_settings(
        {
            "model": model,
            "cheap": cheap,
            "strong": strong,
            "strategy": strategy,
            "max_cost": max_cost,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "system": system,
        }
    )
    return run_query(text, settings, json_output=json_output, quiet=quiet)
