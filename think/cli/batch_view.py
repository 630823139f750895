"""What ``think batch`` writes: a result line per prompt (the ``--json`` document of its
run, with the prompt's id and the batch's), a line for a prompt not sent, and the tally its
progress bar and summary show."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from think import events
from think.batch.pool import Stop
from think.batch.results import ANSWERED
from think.cli.json_text import finite
from think.cli.stdout_writer import run_document
from think.money import format_usd

NOT_SENT = "budget"
"""The status of a prompt the batch's budget (or a spending cap) left unsent."""


def line_document(ident: str, run: events.RunRecord, batch_id: str) -> dict[str, Any]:
    """A prompt's result line: its id, its run's ``think --json`` document, the batch id."""
    document: dict[str, Any] = finite({"id": ident, **run_document(run), "batch_id": batch_id})
    return document


def not_sent_document(ident: str, stop: Stop, batch_id: str) -> dict[str, Any]:
    """The line of a prompt that was not sent: no run, nothing spent, and why."""
    return {
        "id": ident,
        "answer": None,
        "run_id": None,
        "status": NOT_SENT,
        "exit_code": int(stop.exit_code),
        "cost_usd": 0.0,
        "error": f"not sent: {stop.reason}",
        "batch_id": batch_id,
    }


def failing(document: dict[str, Any]) -> bool:
    """A line of a prompt that was sent and not answered (an error, the run's budget …)."""
    return document.get("status") not in ANSWERED and document.get("status") != NOT_SENT


def _usd(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass
class Tally:
    """Counts and money of the lines so far."""

    total: int
    answered: int = 0
    failed: int = 0
    not_sent: int = 0
    cost: Decimal = Decimal(0)
    unknown_cost: int = 0
    strong_only: Decimal = Decimal(0)

    @property
    def done(self) -> int:
        return self.answered + self.failed + self.not_sent

    def add(self, document: dict[str, Any]) -> None:
        status = document.get("status")
        if status in ANSWERED:
            self.answered += 1
        elif status == NOT_SENT:
            self.not_sent += 1
        else:
            self.failed += 1
        cost = _usd(document.get("cost_usd"))
        if cost is None:
            self.unknown_cost += 1
        else:
            self.cost += cost
        self.strong_only += _usd(document.get("strong_only_cost_usd")) or 0

    def progress(self) -> str:
        failed = f"  {self.failed} failed" if self.failed else ""
        return f"spent {format_usd(self.cost)}{failed}"

    def summary(self, batch_id: str) -> str:
        """The one line at the end: how many answered, failed, not sent; what it cost."""
        parts = [f"{self.answered} ok", f"{self.failed} failed"]
        if self.not_sent:
            parts.append(f"{self.not_sent} not sent")
        cost = format_usd(self.cost)
        if self.unknown_cost:
            cost += f" (+{self.unknown_cost} of unknown cost)"
        line = f"batch {batch_id}: {', '.join(parts)} · {cost}"
        if self.strong_only:
            line += f" · strong model alone {format_usd(self.strong_only)}"
        return line
