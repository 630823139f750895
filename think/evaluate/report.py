"""The comparison table of ``think eval``, built from per-question results.

Per setting: accuracy with its 95% Wilson interval, mean cost per query, the compute
multiple (mean cost relative to one cheap pass — the common currency across models),
cost relative to the strong model alone, escalation rate and p50/p95 latency. The Pareto
frontier of accuracy against cost is marked, and accuracy ≈ a · compute^α is fitted over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from think.evaluate.results import ItemResult
from think.evaluate.stats import fit_power_law, pareto_frontier, percentile, wilson_interval
from think.money import usd_fields

CHEAP_BASELINE = "single-cheap"
STRONG_BASELINE = "single-strong"


@dataclass
class Score:
    setting: str
    technique: str
    n: int = 0
    correct: int = 0
    cost: float = 0.0
    cost_unknown: int = 0
    escalated: int = 0
    errors: int = 0
    durations_ms: list[int] = field(default_factory=list)

    def add(self, result: ItemResult) -> None:
        self.n += 1
        self.correct += int(result.correct)
        self.escalated += int(result.escalated)
        self.errors += int(result.status not in ("ok",))
        if result.cost_usd is None:
            self.cost_unknown += 1
        else:
            self.cost += result.cost_usd
        self.durations_ms.append(result.duration_ms)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def mean_cost(self) -> float:
        """Over the runs whose cost is known."""
        known = self.n - self.cost_unknown
        return self.cost / known if known else 0.0


def scores(settings: Sequence[tuple[str, str]], results: Sequence[ItemResult]) -> list[Score]:
    """One score per ``(name, technique)`` setting, in the given order."""
    table = {name: Score(name, technique) for name, technique in settings}
    for result in results:
        score = table.get(result.setting)
        if score is not None:
            score.add(result)
    return list(table.values())


def report(scored: Sequence[Score], *, stopped: str | None = None) -> dict[str, Any]:
    by_name = {s.setting: s for s in scored}
    measured = [s for s in scored if s.n]
    cheap = by_name.get(CHEAP_BASELINE)
    strong = by_name.get(STRONG_BASELINE)
    positive = [s.mean_cost for s in measured if s.mean_cost > 0]
    unit = cheap.mean_cost if cheap and cheap.mean_cost > 0 else min(positive, default=0.0)
    strong_cost = strong.mean_cost if strong and strong.n else 0.0
    frontier = {measured[i].setting for i in pareto_frontier(_points(measured))}
    rows: list[dict[str, Any]] = []
    for score in scored:
        low, high = wilson_interval(score.correct, score.n)
        rows.append(
            {
                "strategy": score.setting,
                "technique": score.technique,
                "n": score.n,
                "accuracy": round(score.accuracy, 4),
                "accuracy_ci95": [round(low, 4), round(high, 4)],
                "mean_cost_usd": score.mean_cost,
                "compute": round(score.mean_cost / unit, 3) if unit else None,
                "cost_vs_strong": round(score.mean_cost / strong_cost, 4) if strong_cost else None,
                "escalation_rate": round(score.escalated / score.n, 4) if score.n else 0.0,
                "latency_p50_ms": round(percentile(score.durations_ms, 50)),
                "latency_p95_ms": round(percentile(score.durations_ms, 95)),
                "errors": score.errors,
                "cost_unknown": score.cost_unknown,
                "frontier": score.setting in frontier,
            }
        )
    on_frontier = [r for r in rows if r["frontier"] and r["compute"]]
    fit = fit_power_law([(r["compute"], r["accuracy"]) for r in on_frontier])
    n = max((s.n for s in scored), default=0)
    return {
        "n": n,
        "strategies": rows,
        "frontier": [r["strategy"] for r in sorted(on_frontier, key=lambda r: r["compute"])],
        "fit": None
        if fit is None
        else {"a": round(fit.a, 4), "alpha": round(fit.alpha, 4), "points": fit.points},
        "stopped": stopped,
    }


def _points(measured: Sequence[Score]) -> list[tuple[float, float]]:
    return [(s.mean_cost, s.accuracy) for s in measured]


CSV_COLUMNS = (
    "strategy",
    "technique",
    "n",
    "accuracy",
    "ci95_low",
    "ci95_high",
    "mean_cost_usd",
    "compute",
    "cost_vs_strong",
    "escalation_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "errors",
    "cost_unknown",
    "frontier",
)


def csv_rows(document: dict[str, Any]) -> list[list[object]]:
    rows: list[list[object]] = []
    for row in document["strategies"]:
        low, high = row["accuracy_ci95"]
        values = usd_fields({**row, "ci95_low": low, "ci95_high": high})
        rows.append(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
    return rows
