"""What ``think eval`` and ``think calibrate`` share: the settings and questions of a
dataset, the contestants a grid builds, and a grid run with its progress bar."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from think.cli import wiring

if TYPE_CHECKING:
    from think.config.settings import Settings
    from think.evaluate.grid import GridSetting
    from think.evaluate.runner import Contestant, EvalItem


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
    from think.config.settings import load_settings
    from think.evaluate.runner import load_dataset, sample_items

    settings = load_settings({"cheap": cheap, "strong": strong})
    if settings.replay_file is None:
        settings = settings.model_copy(update={"replay_file": dataset})
    return settings, sample_items(load_dataset(dataset), sample, seed)[:limit]


def default_results_path(dataset: Path, settings: Settings) -> Path:
    """One results file per dataset content and pair of models."""
    from think.config.paths import eval_results_dir

    digest = hashlib.sha256()
    try:
        digest.update(dataset.read_bytes())
    except OSError:
        digest.update(str(dataset).encode())
    cheap, strong = wiring.cheap_model(settings), wiring.strong_model(settings)
    digest.update(f"{cheap}|{strong}".encode())
    return eval_results_dir() / f"{dataset.stem}-{digest.hexdigest()[:12]}.jsonl"


def contestants(grid: tuple[GridSetting, ...], settings: Settings) -> list[Contestant]:
    """A runnable contestant per grid setting."""
    from think import __version__
    from think.config.settings import with_overrides
    from think.evaluate.runner import Contestant

    cheap_ref, strong_ref = wiring.cheap_model(settings), wiring.strong_model(settings)
    catalog = wiring.provider_catalog(settings)
    for ref in (cheap_ref, strong_ref):
        catalog.endpoint(ref.provider)  # an unknown provider fails before any run
    built: list[Contestant] = []
    for setting in grid:
        overrides = setting.resolved(str(cheap_ref), str(strong_ref))
        own = with_overrides(settings, overrides, f"eval setting {setting.name}")
        strategy = wiring.build_strategy(
            own, in_grid=True
        )  # a setting that cannot be built fails first
        # Every effective setting (config file and THINK_* included), not just the grid's
        # overrides, and the strategy they build (its policy's defaults, think's version):
        # kept results are reused only for an identical configuration.
        effective_settings = own.model_dump_json(exclude={"profiles", "profile"})
        identity = f"{__version__}\n{strategy!r}\n{effective_settings}"
        fingerprint = hashlib.sha256(identity.encode()).hexdigest()[:16]
        options = wiring.query_options(own)
        built.append(Contestant(setting.name, setting.technique, strategy, options, fingerprint))
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
    """Evaluate every grid setting on ``items`` with a progress bar; the report document."""
    from decimal import Decimal

    from think.cli.console import report_warning
    from think.cli.eval_view import EvalProgress
    from think.evaluate import grid_run

    built = contestants(grid, settings)
    catalog = wiring.provider_catalog(settings)
    with EvalProgress(len(items) * len(built)) as progress:
        return grid_run.run_grid(
            items,
            built,
            price_for=wiring.price_lookup(settings, catalog),
            make_provider=catalog.create,
            results_path=results_path,
            fresh=fresh,
            concurrency=concurrency,
            max_cost=None if max_cost is None else Decimal(str(max_cost)),
            progress=progress.advance,
            warn=report_warning,
        )
