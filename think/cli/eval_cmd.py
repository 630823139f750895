"""``think eval``: accuracy against cost of strategies and settings on a dataset."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from think.eval_grid import GridSetting
    from think.evaluation import Contestant, EvalItem
    from think.settings import Settings


def eval_command(
    dataset: Annotated[Path, typer.Argument(help="JSONL: question, gold, answer_kind, options.")],
    cheap: Annotated[str | None, typer.Option(help="Cheap model (provider:model).")] = None,
    strong: Annotated[str | None, typer.Option(help="Strong model (provider:model).")] = None,
    grid: Annotated[
        str | None,
        typer.Option(help="Compare a grid of settings: 'default' or a TOML/JSON file."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N questions.")] = None,
    sample: Annotated[
        int | None, typer.Option(min=1, help="A random sample of N questions (see --seed).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for --sample.")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, help="Runs in flight at once.")] = 8,
    max_cost: Annotated[
        float | None,
        typer.Option(min=0, help="Never spend more than this many USD on the whole evaluation."),
    ] = None,
    results: Annotated[
        Path | None,
        typer.Option(help="Results file (JSONL) to resume from and append to."),
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Ignore results kept from an earlier run.")
    ] = False,
    plot: Annotated[
        Path | None, typer.Option(help="Write accuracy against cost as a PNG (needs [plot]).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="The table as CSV.")] = False,
) -> None:
    """Run each setting on every question and compare accuracy (95% CI), cost per query,
    compute relative to one cheap pass, escalation rate and latency; mark the Pareto
    frontier and fit accuracy ≈ a·compute^α. Without --grid: single-cheap, single-strong,
    vote and cascade at the configured defaults."""
    from think.cli.eval_view import print_eval
    from think.eval_grid import FOUR_ROWS, load_grid

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


def eval_inputs(
    dataset: Path,
    cheap: str | None,
    strong: str | None,
    *,
    sample: int | None,
    seed: int,
    limit: int | None,
) -> tuple[Settings, list[EvalItem]]:
    """The settings (``replay:`` models serve the dataset unless a replay file is set) and
    the questions to run: a seeded sample, then the first ``limit``."""
    from think.evaluation import load_dataset, sample_items
    from think.settings import load_settings

    settings = load_settings({"cheap": cheap, "strong": strong})
    if settings.replay_file is None:
        settings = settings.model_copy(update={"replay_file": dataset})
    return settings, sample_items(load_dataset(dataset), sample, seed)[:limit]


def default_results_path(dataset: Path, settings: Settings) -> Path:
    """One results file per dataset content and pair of models."""
    from think.paths import eval_results_dir
    from think.strategies.factory import cheap_model, strong_model

    digest = hashlib.sha256()
    try:
        digest.update(dataset.read_bytes())
    except OSError:
        digest.update(str(dataset).encode())
    digest.update(f"{cheap_model(settings)}|{strong_model(settings)}".encode())
    return eval_results_dir() / f"{dataset.stem}-{digest.hexdigest()[:12]}.jsonl"


def contestants(grid: tuple[GridSetting, ...], settings: Settings) -> list[Contestant]:
    """A runnable contestant per grid setting."""
    from think import __version__
    from think.cli.query_run import query_options
    from think.evaluation import Contestant
    from think.providers.registry import resolve_endpoint
    from think.settings import with_overrides
    from think.strategies.factory import build_strategy, cheap_model, strong_model

    cheap_ref, strong_ref = cheap_model(settings), strong_model(settings)
    for ref in (cheap_ref, strong_ref):
        resolve_endpoint(ref.provider, settings)  # an unknown provider fails before any run
    built: list[Contestant] = []
    for setting in grid:
        overrides = setting.resolved(str(cheap_ref), str(strong_ref))
        own = with_overrides(settings, overrides, f"eval setting {setting.name}")
        strategy = build_strategy(own)  # a setting that cannot be built fails before any run
        # Every effective setting (config file and THINK_* included), not just the grid's
        # overrides, and the strategy they build (its policy's defaults, think's version):
        # kept results are reused only for an identical configuration.
        effective_settings = own.model_dump_json(exclude={"profiles", "profile"})
        identity = f"{__version__}\n{strategy!r}\n{effective_settings}"
        fingerprint = hashlib.sha256(identity.encode()).hexdigest()[:16]
        built.append(
            Contestant(setting.name, setting.technique, strategy, query_options(own), fingerprint)
        )
    return built


def run_grid(
    items: list[EvalItem],
    grid: tuple[GridSetting, ...],
    settings: Settings,
    *,
    results_path: Path,
    fresh: bool = False,
    concurrency: int = 8,
    max_cost: float | None = None,
) -> dict[str, Any]:
    """Evaluate every grid setting on ``items`` and build the report document."""
    import asyncio
    from decimal import Decimal

    from think.cli.console import report_warning
    from think.cli.eval_view import EvalProgress
    from think.cli.query_run import price_lookup
    from think.eval_report import report, scores
    from think.eval_results import ResultsFile
    from think.evaluation import evaluate
    from think.providers.registry import create_provider

    built = contestants(grid, settings)
    if fresh:
        results_path.unlink(missing_ok=True)
    store = ResultsFile(results_path)
    kept = store.load()
    if kept:
        report_warning(
            f"resuming: {len(kept)} results kept in {results_path} (--fresh starts over)"
        )
    progress = EvalProgress(len(items) * len(built))
    try:
        with progress:
            collected, stopped = asyncio.run(
                evaluate(
                    items,
                    built,
                    price_for=price_lookup(settings),
                    make_provider=lambda name: create_provider(name, settings),
                    concurrency=concurrency,
                    results=store,
                    kept=kept,
                    max_cost=None if max_cost is None else Decimal(str(max_cost)),
                    progress=progress.advance,
                )
            )
    finally:
        store.close()
    if stopped:
        report_warning(f"evaluation stopped early: {stopped}; rerun to resume")
    document = report(scores([(c.name, c.technique) for c in built], collected), stopped=stopped)
    document["results_file"] = str(results_path)
    return document
