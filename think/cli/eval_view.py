"""The progress bar and the results table of ``think eval``."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from think import events


class EvalProgress:
    """A Rich progress bar on stderr (terminal only) with running accuracy and spend."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.correct = 0
        self.spent = 0.0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> EvalProgress:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("eval"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=self.total)
        return self

    def advance(self, strategy: str, run: events.RunRecord, correct: bool) -> None:
        self.done += 1
        self.correct += int(correct)
        if run.cost is not None and run.cost.usd is not None:
            self.spent += float(run.cost.usd)
        if self._progress is not None:
            accuracy = self.correct / self.done
            self._progress.update(
                self._task,
                advance=1,
                description=f"accuracy {accuracy:.1%}  spent ${self.spent:.4f}",
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()


def print_table(document: dict[str, Any]) -> None:
    from rich.table import Table

    from think.cli.console import stdout_console

    table = Table(title=f"{document['n']} questions", header_style="bold")
    for column in ("strategy", "accuracy", "mean cost", "escalation", "cost vs strong"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for row in document["strategies"]:
        ratio = row["cost_vs_strong"]
        table.add_row(
            row["strategy"],
            f"{row['accuracy']:.1%}",
            f"${row['mean_cost_usd']:.6f}",
            f"{row['escalation_rate']:.1%}",
            "-" if ratio is None else f"{ratio:.1%}",
        )
    stdout_console().print(table)
