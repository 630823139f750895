"""``think eval``: accuracy against cost of each strategy on a dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def eval_command(
    dataset: Annotated[Path, typer.Argument(help="JSONL: question, gold, answer_kind, options.")],
    cheap: Annotated[str | None, typer.Option(help="Cheap model (provider:model).")] = None,
    strong: Annotated[str | None, typer.Option(help="Strong model (provider:model).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N questions.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Questions in flight at once.")] = 8,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Run single-cheap, single-strong, vote and cascade on every question and compare
    accuracy, mean cost, escalation rate and cost relative to the strong model alone."""
    import asyncio

    from think.cli.eval_view import EvalProgress, print_table
    from think.cli.query_run import price_lookup, query_options
    from think.evaluation import evaluate, load_dataset, report
    from think.providers.registry import create_provider, resolve_endpoint
    from think.settings import load_settings
    from think.strategies.cascade import Cascade, CascadePolicy
    from think.strategies.factory import cheap_model, strong_model
    from think.strategies.single import Single
    from think.strategies.vote import Vote

    items = load_dataset(dataset)[:limit]
    flags: dict[str, object] = {"cheap": cheap, "strong": strong}
    settings = load_settings(flags)
    if settings.replay_file is None:
        settings = settings.model_copy(update={"replay_file": dataset})
    cheap_ref, strong_ref = cheap_model(settings), strong_model(settings)
    for ref in (cheap_ref, strong_ref):
        resolve_endpoint(ref.provider, settings)
    policy = CascadePolicy(
        settings.cascade_initial, settings.cascade_max_samples, settings.agreement
    )
    strategies = {
        "single-cheap": lambda: Single(cheap_ref),
        "single-strong": lambda: Single(strong_ref),
        "vote": lambda: Vote(cheap_ref, settings.samples),
        "cascade": lambda: Cascade(cheap_ref, strong_ref, policy),
    }
    progress = EvalProgress(len(items) * len(strategies))
    with progress:
        scores = asyncio.run(
            evaluate(
                items,
                strategies,  # type: ignore[arg-type]
                options=query_options(settings),
                price_for=price_lookup(settings),
                make_provider=lambda name: create_provider(name, settings),
                concurrency=concurrency,
                progress=progress.advance,
            )
        )
    document = report(scores)
    if json_output:
        typer.echo(json.dumps(document))
    else:
        print_table(document)
