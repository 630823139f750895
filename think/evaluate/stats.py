"""Statistics for ``think eval``: confidence intervals, percentiles, the Pareto frontier of
accuracy against cost, and a power-law fit over that frontier."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion (sound near 0 and 1, unlike ±1.96·SE)."""
    if n <= 0:
        return 0.0, 1.0
    p = correct / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At p = 0 or 1 the bound is the estimate itself; rounding must not move it past it.
    low = 0.0 if correct == 0 else max(0.0, centre - half)
    high = 1.0 if correct == n else min(1.0, centre + half)
    return low, high


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def pareto_frontier(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats: none is at least as accurate for less
    cost, or more accurate for the same cost. Points are ``(cost, accuracy)``; the result is
    ordered by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    frontier: list[int] = []
    best = -math.inf
    for index in order:
        accuracy = points[index][1]
        if accuracy > best:
            frontier.append(index)
            best = accuracy
    return frontier


@dataclass(frozen=True)
class PowerLaw:
    """accuracy ≈ a · compute^alpha, fitted by least squares in log-log space."""

    a: float
    alpha: float
    points: int

    def predict(self, compute: float) -> float:
        return float(self.a * math.pow(compute, self.alpha))


def fit_power_law(points: Sequence[tuple[float, float]]) -> PowerLaw | None:
    """Fit over ``(compute, accuracy)`` points with both positive; None if fewer than two
    distinct compute values."""
    usable = [(math.log(c), math.log(a)) for c, a in points if c > 0 and a > 0]
    if len({x for x, _ in usable}) < 2:
        return None
    n = len(usable)
    mean_x = sum(x for x, _ in usable) / n
    mean_y = sum(y for _, y in usable) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in usable)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in usable)
    alpha = sxy / sxx
    return PowerLaw(a=math.exp(mean_y - alpha * mean_x), alpha=alpha, points=n)
