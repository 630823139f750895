"""``think calibrate``: pick the cheapest setting that reaches a target accuracy.

The questions are split at random (seeded) into a calibration part and a held-out part.
Every grid setting runs on the calibration part; the pick is the cheapest setting whose
calibration accuracy reaches ``target_accuracy`` (or, with ``max_cost_per_query``, the most
accurate setting within that cost). The pick then runs on the held-out part, which says how
well the choice generalises: its 95% interval should contain the target or lie above it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, TypeVar

from think.errors import UsageError

T = TypeVar("T")


def split(items: Sequence[T], share: float, seed: int) -> tuple[list[T], list[T]]:
    """``share`` of the items (at least one) for calibration, the rest held out."""
    if not 0 < share < 1:
        raise UsageError("--split must be between 0 and 1")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    cut = min(max(1, round(len(items) * share)), len(items) - 1)
    if cut < 1:
        raise UsageError("calibration needs at least two questions")
    chosen = set(order[:cut])
    calibration = [item for i, item in enumerate(items) if i in chosen]
    held_out = [item for i, item in enumerate(items) if i not in chosen]
    return calibration, held_out


def require_goal(target_accuracy: float | None, max_cost_per_query: float | None) -> None:
    if target_accuracy is None and max_cost_per_query is None:
        raise UsageError("calibrate needs --target-accuracy or --max-cost-per-query")


def choose(
    rows: Sequence[dict[str, Any]],
    *,
    target_accuracy: float | None,
    max_cost_per_query: float | None,
) -> dict[str, Any] | None:
    """The row to keep, from ``think eval`` report rows; None when no row qualifies."""
    require_goal(target_accuracy, max_cost_per_query)
    usable = [r for r in rows if r["n"] and not r["cost_unknown"]]
    if max_cost_per_query is not None:
        usable = [r for r in usable if r["mean_cost_usd"] <= max_cost_per_query]
    if target_accuracy is None:  # a cost limit alone: the most accurate setting within it
        return max(usable, key=lambda r: (r["accuracy"], -r["mean_cost_usd"]), default=None)
    meeting = [r for r in usable if r["accuracy"] >= target_accuracy]
    return min(meeting, key=lambda r: (r["mean_cost_usd"], -r["accuracy"]), default=None)
