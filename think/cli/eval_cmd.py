"""``think eval``: accuracy against cost of strategies and settings on a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def eval_command(
    dataset: Annotated[
        Path,
        typer.Argument(
            metavar="DATASET",
            help="JSONL: question, gold, answer_kind, options; code items: test or score_cmd.",
        ),
    ],
    cheap: Annotated[
        str | None, typer.Option(metavar="MODEL", help="Cheap model (provider:model).")
    ] = None,
    strong: Annotated[
        str | None, typer.Option(metavar="MODEL", help="Strong model (provider:model).")
    ] = None,
    grid: Annotated[
        str | None,
        typer.Option(
            metavar="GRID", help="Compare a grid of settings: 'default' or a TOML/JSON file."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(metavar="N", min=1, help="Only the first N questions.")
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(metavar="N", min=1, help="A random sample of N questions (see --seed)."),
    ] = None,
    seed: Annotated[int, typer.Option(metavar="N", help="Seed for --sample.")] = 0,
    concurrency: Annotated[
        int, typer.Option(metavar="N", min=1, help="Runs in flight at once.")
    ] = 8,
    max_cost: Annotated[
        float | None,
        typer.Option(
            metavar="USD",
            min=0,
            help="Never spend more than this many USD on the whole evaluation.",
        ),
    ] = None,
    results: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Results file (JSONL) to resume from and append to."),
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Ignore results kept from an earlier run.")
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Write accuracy against cost as a PNG (needs [plot])."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="The table as CSV.")] = False,
) -> None:
    """Run each setting on every question and compare accuracy (95% CI), cost per query,
    compute relative to one cheap pass, escalation rate and latency; mark the Pareto
    frontier and fit accuracy ≈ a·compute^α. Without --grid: single-cheap, single-strong,
    vote and cascade at the configured defaults."""
    from think.cli.eval_setup import default_results_path, eval_inputs, run_grid
    from think.cli.eval_view import print_eval
    from think.evaluate.grid import FOUR_ROWS, load_grid

    settings, items = eval_inputs(dataset, cheap, strong, sample=sample, seed=seed, limit=limit)
    grid_settings = load_grid(grid) if grid else FOUR_ROWS
    results_path = results or default_results_path(dataset, settings)
    document = run_grid(
        items,
        grid_settings,
        settings,
        results_path=results_path,
        fresh=fresh,
        concurrency=concurrency,
        max_cost=max_cost,
    )
    print_eval(document, json_output=json_output, csv_output=csv_output, plot=plot)
