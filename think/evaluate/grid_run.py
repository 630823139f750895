"""One grid run: every contestant on every question, resumed from and appended to a results
file, then scored into the report document (no settings, no terminal: the caller supplies
the prices, the providers and what to do with progress and warnings)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from think.calls import PriceLookup
from think.evaluate.report import report, scores
from think.evaluate.results import ItemResult, ResultsFile
from think.evaluate.runner import Contestant, EvalItem, evaluate
from think.providers.base import Provider


def run_grid(
    items: Sequence[EvalItem],
    contestants: Sequence[Contestant],
    *,
    price_for: PriceLookup,
    make_provider: Callable[[str], Provider],
    results_path: Path,
    fresh: bool = False,
    concurrency: int = 8,
    max_cost: Decimal | None = None,
    progress: Callable[[ItemResult], None] | None = None,
    warn: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Evaluate every contestant on ``items`` and build the report document; results kept
    in ``results_path`` for the same configuration are reused (``fresh`` starts over)."""
    store = ResultsFile(results_path)
    if fresh:
        store.remove()
    kept = store.load()
    if kept:
        warn(f"resuming: {len(kept)} results kept in {results_path} (--fresh starts over)")
    try:
        collected, stopped = asyncio.run(
            evaluate(
                items,
                contestants,
                price_for=price_for,
                make_provider=make_provider,
                concurrency=concurrency,
                results=store,
                kept=kept,
                max_cost=max_cost,
                progress=progress,
            )
        )
    finally:
        store.close()
    if stopped:
        warn(f"evaluation stopped early: {stopped}; rerun to resume")
    named = [(c.name, c.technique) for c in contestants]
    document = report(scores(named, collected), stopped=stopped)
    document["results_file"] = str(results_path)
    return document
