"""How ``think ledger`` commands print: Rich tables for people, JSON and CSV for programs.

Tables fit 80 columns (the prompt column takes what is left); times are local.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from think.money import format_usd, usd_from_ledger

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from think.ledger_stats import Row, Stats

Format = Literal["table", "json", "csv"]
BAR_WIDTH = 20
STATUS_SHORT = {"budget_exhausted": "budget"}


def output_format(json_output: bool, csv_output: bool) -> Format:
    from think.errors import UsageError

    if json_output and csv_output:
        raise UsageError("choose one of --json and --csv")
    return "json" if json_output else "csv" if csv_output else "table"


def write_json_lines(documents: Iterable[dict[str, Any]]) -> None:
    out = sys.stdout
    for document in documents:
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
    out.flush()


def write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    sys.stdout.flush()


def usd(value: float | Decimal | None) -> str:
    if value is None:
        return "-"
    return format_usd(value if isinstance(value, Decimal) else usd_from_ledger(value).normalize())


def local_time(stamp: str | None, *, full: bool = False) -> str:
    if not stamp:
        return ""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone()
    if full:
        return moment.strftime("%Y-%m-%d %H:%M:%S %Z")
    if moment.year != datetime.now().year:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%m-%d %H:%M")


def excerpt(text: str | None, width: int = 200) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def agreement(votes: str | dict[str, int] | None) -> str:
    counts = json.loads(votes) if isinstance(votes, str) else votes
    if not counts:
        return ""
    return f"{max(counts.values())}/{sum(counts.values())}"


def _table(*columns: str) -> Table:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, collapse_padding=True, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    return table


def runs_table(rows: list[dict[str, Any]]) -> Table:
    table = _table("time", "run", "status", "strategy", "model", "agree", "esc", "cost")
    table.columns[4].max_width = 22
    table.add_column("prompt", no_wrap=True, overflow="ellipsis", ratio=1, min_width=12)
    for row in rows:
        prompt = excerpt(row["prompt"]) if not row.get("no_log") else "(not logged)"
        table.add_row(
            local_time(row["started_at"]),
            row["id"][:8],
            STATUS_SHORT.get(row["status"], row["status"]),
            row["strategy"],
            row["answer_model"] or "",
            agreement(row["votes"]),
            "yes" if row["escalated"] else "",
            usd(row["cost_usd"]) if row["status"] != "running" else "…",
            prompt,
        )
    return table


def _field(label: str, value: object) -> str:
    return f"[bold]{label:<11}[/bold] {value}"


def show_run(console: Console, run: dict[str, Any], calls: list[dict[str, Any]]) -> None:
    """Everything recorded about one run, for a person."""
    from rich.markup import escape

    def line(label: str, value: object) -> None:
        console.print(_field(label, escape(str(value))))

    line("run", run["id"])
    line("started", local_time(run["started_at"], full=True))
    duration = "" if run["duration_ms"] is None else f"{run['duration_ms'] / 1000:.2f} s"
    line("status", f"{run['status']} (exit {run['exit_code']})  {duration}".rstrip())
    line("strategy", run["strategy"])
    line("models", ", ".join(json.loads(run["models"] or "[]")))
    line("answered by", run["answer_model"] or "-")
    cost = f"{usd(run['cost_usd'])} ({run['cost_source'] or 'not finished'})"
    if run["max_cost_usd"] is not None:
        cost += f" of at most {usd(run['max_cost_usd'])}"
    if run["reserved_usd"] is not None:
        cost += f"; {usd(run['reserved_usd'])} reserved against the spending caps"
    line("cost", cost)
    if run["strong_only_cost_usd"] is not None and run["cost_usd"] is not None:
        saved = usd_from_ledger(run["strong_only_cost_usd"]) - usd_from_ledger(run["cost_usd"])
        line("strong alone", f"{usd(run['strong_only_cost_usd'])} (saved {usd(saved)})")
    line(
        "tokens",
        f"in {run['input_tokens'] or 0} · out {run['output_tokens'] or 0} · reasoning "
        f"{run['reasoning_tokens'] or 0} · cached {run['cached_tokens'] or 0}",
    )
    if run["stages"]:
        line("stages", " → ".join(json.loads(run["stages"])))
    if run["votes"]:
        votes = json.loads(run["votes"])
        tally = ", ".join(f"{answer!r} ×{count}" for answer, count in votes.items())
        line("votes", f"{tally} (agreement {agreement(votes)})")
    if run["escalation_reason"]:
        line("escalated", f"{'yes' if run['escalated'] else 'no'}: {run['escalation_reason']}")
    if run["error"]:
        line("error", run["error"])
    console.print()
    console.print(calls_table(calls) if calls else "no calls")
    for call in calls:
        if call["error"]:
            console.print(_field(f"call {call['seq']}", escape(f"error: {call['error']}")))
    if run["no_log"]:
        console.print("\n(prompt, answer and reasoning were not recorded: --no-log)")
        return
    _section(console, "prompt", run["prompt"])
    _section(console, "answer", run["answer"])
    for call in calls:
        if call["reasoning"]:
            title = f"reasoning (call {call['seq']}, {call['provider']}:{call['model']})"
            _section(console, title, call["reasoning"])


def _section(console: Console, title: str, text: str | None) -> None:
    from rich.text import Text

    console.print()
    console.print(Text(title, style="bold"))
    console.print(Text(text if text else "-"))


def calls_table(calls: list[dict[str, Any]]) -> Table:
    table = _table(
        "#", "stage", "model", "status", "in", "out", "reas", "cost", "latency", "ttft", "end"
    )
    for index in (4, 5, 6, 7, 8, 9):
        table.columns[index].justify = "right"
    for call in calls:
        table.add_row(
            str(call["seq"]),
            call["stage"] or "",
            f"{call['provider']}:{call['model']}",
            call["status"],
            str(call["input_tokens"] or 0),
            str(call["output_tokens"] or 0),
            str(call["reasoning_tokens"] or 0),
            usd(call["cost_usd"]),
            _seconds(call["latency_ms"]),
            _seconds(call["ttft_ms"]),
            call["finish_reason"] or "",
        )
    return table


def _seconds(ms: int | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.2f}s"


def stats_columns(by: str) -> list[str]:
    per_call = by in ("model", "provider")
    if per_call:
        return [by, "calls", "spent", "share"]
    return [by, "runs", "spent", "avg/run", "escalated", "strong alone", "saved"]


def stats_record(row: Row, by: str, total: Row) -> dict[str, Any]:
    """A stats row as plain values (JSON and CSV)."""
    record: dict[str, Any] = {by: row.key}
    if by in ("model", "provider"):
        record["calls"] = row.calls
        record["spent_usd"] = float(row.spent)
        record["share"] = float(row.spent / total.spent) if total.spent else None
    else:
        record.update(
            runs=row.runs,
            spent_usd=float(row.spent),
            avg_usd_per_run=None if row.average is None else float(row.average),
            cascades=row.cascades,
            escalated=row.escalated,
            escalation_rate=row.escalation_rate,
            strong_alone_usd=None if row.strong_alone is None else float(row.strong_alone),
            saved_usd=None if row.saved is None else float(row.saved),
        )
    record["unknown_cost_runs"] = row.unknown_cost
    return record


def _rate(row: Row) -> str:
    rate = row.escalation_rate
    return "-" if rate is None else f"{row.escalated}/{row.cascades} {rate:.0%}"


def print_stats(console: Console, stats: Stats) -> None:
    from rich.text import Text

    total = stats.total
    since = f"since {local_time(stats.since, full=True)}" if stats.since else "all time"
    console.print(
        Text(
            f"{total.runs} runs {since}: {usd(total.spent)} spent, "
            f"{usd(total.average)} per run on average",
            style="bold",
        )
    )
    summary = [f"escalated {_rate(total)} of cascade runs"]
    if total.saved is not None:
        summary.append(
            f"the strong model alone would have cost {usd(total.strong_alone)}: "
            f"saved {usd(total.saved)}"
        )
    console.print("; ".join(summary))
    if total.unknown_cost:
        console.print(f"{total.unknown_cost} runs used a model of unknown price (counted at $0)")
    if not stats.rows:
        return
    console.print()
    per_call = stats.by in ("model", "provider")
    table = _table(*stats_columns(stats.by), "")
    for index in range(1, len(table.columns) - 1):
        table.columns[index].justify = "right"
    top = max((row.spent for row in stats.rows), default=Decimal(0))
    for row in stats.rows:
        bar = _bar(row.spent, top)
        if per_call:
            share = f"{row.spent / total.spent:.0%}" if total.spent else "-"
            cells = [str(row.calls), usd(row.spent), share]
        else:
            cells = [str(row.runs), usd(row.spent), usd(row.average), _rate(row)]
            cells += [usd(row.strong_alone), usd(row.saved)]
        table.add_row(row.key, *cells, Text(bar, style="cyan"))
    console.print(table)


def _bar(value: Decimal, top: Decimal) -> str:
    if top <= 0 or value <= 0:
        return ""
    eighths = int(value / top * BAR_WIDTH * 8)
    full, rest = divmod(max(eighths, 1), 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[rest]
