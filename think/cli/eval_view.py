"""What ``think eval`` shows: a progress bar (stderr, terminal only), then the table, the
frontier fit and a small accuracy-against-cost chart (stdout), or JSON, or CSV."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import typer

from think.cli.console import printable
from think.cli.progress import ProgressBar
from think.evaluate.results import ItemResult
from think.money import format_usd, usd_fields

CHART_WIDTH = 56
CHART_HEIGHT = 10
MARKS = "123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class EvalProgress(ProgressBar):
    """The progress bar of an evaluation, with running accuracy and spend."""

    def __init__(self, total: int) -> None:
        super().__init__(total, "eval")
        self.done = 0
        self.correct = 0
        self.spent = 0.0

    def advance(self, result: ItemResult) -> None:
        self.done += 1
        self.correct += int(result.correct)
        self.spent += result.cost_usd or 0.0
        accuracy = self.correct / self.done
        self.step(f"accuracy {accuracy:.1%}  spent {format_usd(self.spent)}")


def print_eval(
    document: dict[str, Any], *, json_output: bool, csv_output: bool, plot: Path | None
) -> None:
    if plot is not None:
        from think.evaluate.plot import write_plot

        write_plot(document, plot)
    if json_output:
        from think.cli.json_text import dumps

        typer.echo(dumps(usd_fields(document)))
    elif csv_output:
        import csv

        from think.evaluate.report import CSV_COLUMNS, csv_rows

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_rows(document))
    else:
        print_table(document)


def print_table(document: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    from think.cli.console import stdout_console

    rows = document["strategies"]
    table = Table(
        title=f"{document['n']} questions (latency in ms)",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        padding=0,
    )
    headers = ("#", "setting", "compute", "accuracy", "95% CI", "$/query", "÷strong")
    for column in (*headers, "esc", "p50/p95", "★"):
        table.add_column(
            column,
            justify="left" if column == "setting" else "right",
            no_wrap=column != "setting",
            overflow="fold",
            min_width=13 if column == "setting" else None,
        )
    for number, row in enumerate(rows):
        ratio = row.get("cost_vs_strong")
        low, high = row.get("accuracy_ci95", (row["accuracy"], row["accuracy"]))
        compute = row.get("compute")
        table.add_row(
            f"{MARKS[number] if number < len(MARKS) else ''} ",
            printable(row["strategy"]),
            " -" if compute is None else f" {compute:.3g}×",
            f" {row['accuracy']:.1%}",
            f" {low * 100:.1f}–{high * 100:.1f}",
            f" {format_usd(row['mean_cost_usd'])}",
            " -" if ratio is None else f" {ratio:.1%}",
            f" {row['escalation_rate']:.0%}",
            f" {row.get('latency_p50_ms', 0)}/{row.get('latency_p95_ms', 0)}",
            " ★" if row.get("frontier") else "",
        )
    console = stdout_console()
    console.print(table)
    fit = document.get("fit")
    if fit:
        console.print(
            f"Pareto frontier ★ ({' → '.join(document['frontier'])}): "
            f"accuracy ≈ {fit['a']:.3f} · compute^α with α = {fit['alpha']:.3f}"
        )
    if len(rows) > 1:
        console.print(chart(rows), highlight=False)
    if document.get("stopped"):
        console.print(f"stopped early: {document['stopped']}")


def chart(rows: list[dict[str, Any]]) -> str:
    """Accuracy (up) against mean cost per query (right, log scale); points are the table's
    # marks, frontier points in a bracket-free column of their own mark."""
    points = [
        (math.log10(r["mean_cost_usd"]), r["accuracy"], MARKS[i] if i < len(MARKS) else "+")
        for i, r in enumerate(rows)
        if r["mean_cost_usd"] > 0 and r["n"]
    ]
    if not points:
        return ""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    grid = [[" "] * CHART_WIDTH for _ in range(CHART_HEIGHT)]
    for x, y, mark in points:
        col = round((x - x0) / (x1 - x0) * (CHART_WIDTH - 1)) if x1 > x0 else 0
        row = round((y1 - y) / (y1 - y0) * (CHART_HEIGHT - 1)) if y1 > y0 else 0
        grid[row][col] = mark
    lines = []
    for number, cells in enumerate(grid):
        label = f"{y1:6.1%}" if number == 0 else f"{y0:6.1%}" if number == CHART_HEIGHT - 1 else ""
        lines.append(f"{label:>7} │{''.join(cells)}")
    lines.append(" " * 8 + "└" + "─" * CHART_WIDTH)
    left, right = format_usd(10**x0), f"{format_usd(10**x1)} per query (log)"
    lines.append(" " * 9 + left + " " * max(1, CHART_WIDTH - len(left) - len(right)) + right)
    return "\n".join(lines)
