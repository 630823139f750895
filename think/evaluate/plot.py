"""``think eval --plot FILE.png``: accuracy against cost per query (log x), one point per
setting, the Pareto frontier as a line. matplotlib is an optional extra
(``think-cascade[plot]``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from think.errors import UsageError

PLOT_HINT = "--plot needs matplotlib: pip install 'think-cascade[plot]'"


def write_plot(document: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UsageError(PLOT_HINT) from exc
    rows = [r for r in document["strategies"] if r["n"] and r["mean_cost_usd"] > 0]
    figure, axes = plt.subplots(figsize=(8, 5), dpi=120)
    for row in _merged(rows):
        low, high = row["accuracy_ci95"]
        colour = "tab:red" if row["frontier"] else "tab:blue"
        axes.errorbar(
            row["mean_cost_usd"],
            row["accuracy"],
            yerr=[[row["accuracy"] - low], [high - row["accuracy"]]],
            fmt="o",
            color=colour,
            capsize=3,
        )
        axes.annotate(
            row["strategy"],
            (row["mean_cost_usd"], row["accuracy"]),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=8,
        )
    frontier = sorted((r for r in rows if r["frontier"]), key=lambda r: r["mean_cost_usd"])
    if len(frontier) > 1:
        axes.plot(
            [r["mean_cost_usd"] for r in frontier],
            [r["accuracy"] for r in frontier],
            color="tab:red",
            linewidth=1,
            label="Pareto frontier",
        )
        axes.legend(loc="lower right")
    axes.set_xscale("log")
    axes.set_xlabel("mean cost per query (USD, log scale)")
    axes.set_ylabel("accuracy")
    title = f"accuracy against cost, {document['n']} questions"
    if document.get("fit"):
        title += f"  (frontier α = {document['fit']['alpha']:.3f})"
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    try:
        figure.savefig(path)
    except OSError as exc:
        raise UsageError(f"--plot: cannot write {path}: {exc.strerror}") from exc
    finally:
        plt.close(figure)


def _merged(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Settings with the same cost and accuracy drawn as one point, labelled with the first
    name and how many others it stands for (the table lists them all)."""
    groups: dict[tuple[float, float], dict[str, Any]] = {}
    for row in rows:
        key = (round(row["mean_cost_usd"], 12), row["accuracy"])
        group = groups.get(key)
        if group is None:
            groups[key] = {**row, "same": 0}
        else:
            group["same"] += 1
            group["frontier"] = group["frontier"] or row["frontier"]
    for group in groups.values():
        if group["same"]:
            group["strategy"] += f" (+{group['same']} equal)"
    return list(groups.values())
