"""How ``think ledger`` commands print: Rich tables for people, JSON and CSV for programs.

On a terminal, tables fit its width (the prompt column takes what is left; the run id is
never cut: a table that cannot fit is printed whole and the terminal wraps it). Piped, the
list of runs is one tab-separated line per run with every field whole (as ``gh`` does) and
the other tables are never cut either. Times are local.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from think.cli.console import printable, stdout_is_terminal, tab_separated
from think.money import format_usd, usd_fields, usd_from_ledger
from think.periods import local_moment

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from think.ledger.records import StoredCall, StoredRun
    from think.ledger.stats import Row, Stats

Format = Literal["table", "json", "csv"]
BAR_WIDTH = 12
"""The least width of a stats table's bars (they take what the terminal has left)."""
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


def usd(value: float | Decimal | None, source: str | None = None) -> str:
    """A ledger amount for people; a missing one is ``unknown`` when its price was (an
    unpriced model), else ``-`` (nothing to count)."""
    if value is None:
        return "unknown" if source == "unknown" else "-"
    return format_usd(value if isinstance(value, Decimal) else usd_from_ledger(value).normalize())


def local_time(stamp: str | None, *, full: bool = False) -> str:
    if not stamp:
        return ""
    moment = local_moment(stamp)
    if full:
        return moment.strftime("%Y-%m-%d %H:%M:%S %Z")
    if moment.year != datetime.now().year:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%m-%d %H:%M")


def excerpt(text: str | None, width: int = 200) -> str:
    flat = printable(" ".join((text or "").split()))
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def agreement(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    return f"{max(counts.values())}/{sum(counts.values())}"


def _table(*columns: str) -> Table:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, collapse_padding=True, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    return table


def write_runs_tsv(runs: list[StoredRun]) -> None:
    """Piped ``think ledger``: per run one line of the table's columns, tab-separated and
    whole (ISO time, full id and status, ``provider:model``, the prompt's control
    characters, tabs and newlines escaped), no header."""
    out = sys.stdout
    for run in runs:
        fields = [
            local_moment(run.started_at).isoformat(timespec="seconds") if run.started_at else "",
            run.id,
            run.status,
            run.strategy,
            run.answer_model or "",
            agreement(run.votes),
            "yes" if run.escalated else "",
            _run_cost(run),
            "(not logged)" if run.no_log else run.prompt or "",
        ]
        out.write(tab_separated(fields) + "\n")
    out.flush()


def _run_cost(run: StoredRun) -> str:
    return usd(run.cost_usd, run.cost_source) if run.status != "running" else "…"


def print_whole(console: Console, table: Table) -> None:
    """Print ``table`` at its own width even where that is wider than ``console``: cells
    are never cut (a terminal wraps the long lines)."""
    width = console.width
    console.width = WHOLE_WIDTH
    try:
        console.print(table)
    finally:
        console.width = width


WHOLE_WIDTH = 100_000


def runs_table(runs: list[StoredRun], width: int) -> Table:
    """Recent runs; at 80 columns the fixed columns keep their width, the model (without its
    provider: ``think ledger show`` has it) and the prompt share what is left. Narrower, the
    model, strategy and status columns give up more; the run id never does (print the
    table with :func:`print_whole`). Runs of more than one (known) user or host, as in a
    team's ledger, get a user and a host column."""
    who = _several(run.username for run in runs) or _several(run.host for run in runs)
    fixed = ["time", "run", "status", "strategy", "model", "agree", "esc", "cost"]
    table = _table(*fixed, *(["user", "host"] if who else []))
    table.add_column("prompt", no_wrap=True, overflow="ellipsis", min_width=10)
    cells = [
        [
            local_time(run.started_at),
            run.id[:8],
            STATUS_SHORT.get(run.status, run.status),
            run.strategy,
            (run.answer_model or "").partition(":")[2] or (run.answer_model or ""),
            agreement(run.votes),
            "yes" if run.escalated else "",
            _run_cost(run),
            *([printable(run.username or "-"), printable(run.host or "-")] if who else []),
            excerpt(run.prompt) if not run.no_log else "(not logged)",
        ]
        for run in runs
    ]
    squeeze = [(4, 11), (3, 5), (2, 6), (4, 5)]
    if who:  # a team's runs: who ran them gives way after the model
        squeeze[3:] = [(9, 8), (8, 8), (4, 5), (9, 4), (8, 4)]
    _fit_widths(table, cells, width, squeeze=squeeze)
    for row_cells in cells:
        table.add_row(*row_cells)
    return table


def _several(names: Iterable[str | None]) -> bool:
    """More than one known name among ``names``."""
    return len({name for name in names if name}) > 1


def _fit_widths(
    table: Table,
    cells: list[list[str]],
    width: int,
    squeeze: Sequence[tuple[int, int]] = (),
) -> None:
    """Fix every column's width: the content's, except the last column, which gets what is
    left of ``width`` (at least its ``min_width``), taken first from the ``squeeze``
    columns in order (column index, down to that width)."""
    widths = [
        max([len(str(column.header)), *(len(row[index]) for row in cells)])
        for index, column in enumerate(table.columns[:-1])
    ]
    last = table.columns[-1]
    gaps = len(table.columns) - 1
    short = (last.min_width or 0) - (width - sum(widths) - gaps)
    for index, least in squeeze:
        if short > 0:
            cut = min(short, max(widths[index] - least, 0))
            widths[index] -= cut
            short -= cut
    for column, fixed in zip(table.columns, widths, strict=False):
        column.width = fixed
    last.width = max(width - sum(widths) - gaps, last.min_width or 0)


def _field(label: str, value: object) -> Text:
    from rich.text import Text

    line = Text(f"{label:<12}", style="bold")
    line.append(f" {printable(str(value))}")
    return line


def _cost(run: StoredRun) -> str:
    cost = f"{usd(run.cost_usd, run.cost_source)} ({run.cost_source or 'not finished'})"
    if run.max_cost_usd is not None:
        cost += f" of at most {usd(run.max_cost_usd)}"
    if run.reserved_usd is not None:
        cost += f"; {usd(run.reserved_usd)} reserved against the spending caps"
    return cost


def show_run(console: Console, run: StoredRun, calls: list[StoredCall]) -> None:
    """Everything recorded about one run, for a person."""

    def line(label: str, value: object) -> None:
        console.print(_field(label, value))

    line("run", run.id)
    line("started", local_time(run.started_at, full=True))
    if run.username or run.host:
        line("run by", f"{run.username or 'unknown user'} on {run.host or 'unknown host'}")
    duration = "" if run.duration_ms is None else f"{run.duration_ms / 1000:.2f} s"
    line("status", f"{run.status} (exit {run.exit_code})  {duration}".rstrip())
    line("strategy", run.strategy)
    line("models", ", ".join(run.models))
    line("answered by", run.answer_model or "-")
    if run.reused_from:
        line("reused from", f"run {run.reused_from} (its answer, at $0)")
    line("cost", _cost(run))
    if run.budget_timezone:
        line("cap clock", f"days and months in {run.budget_timezone} (budget_timezone)")
    if run.strong_only_cost_usd is not None and run.cost_usd is not None:
        alone = usd(run.strong_only_cost_usd)
        if run.status == "ok":
            line("strong alone", f"{alone} (saved {usd(run.strong_only_cost_usd - run.cost_usd)})")
        else:  # no answer, nothing saved
            line("strong alone", f"{alone} (the run did not answer: no saving counted)")
    line(
        "tokens",
        f"in {run.input_tokens} · out {run.output_tokens} · reasoning "
        f"{run.reasoning_tokens} · cached {run.cached_tokens}",
    )
    if run.stages:
        line("stages", " → ".join(run.stages))
    if run.votes:
        tally = ", ".join(f"{answer!r} ×{count}" for answer, count in run.votes.items())
        line("votes", f"{tally} (agreement {agreement(run.votes)})")
    if run.answer_shape:
        judged = f"{run.answer_shape} answer"
        if run.verdict:
            judged += f"; verdict {run.verdict}"
        if run.p_accept is not None:
            judged += f" (p={run.p_accept:.2f})"
        line("judged as", judged)
    if run.escalation_reason:
        line("escalated", f"{'yes' if run.escalated else 'no'}: {run.escalation_reason}")
    if run.error:
        line("error", run.error)
    console.print()
    _print_calls(console, calls)
    if run.no_log:
        console.print("\n(prompt, answer and reasoning were not recorded: --no-log)")
        return
    _section(console, "prompt", run.prompt)
    _section(console, "answer", run.answer)
    for call in calls:
        if call.reasoning:
            title = f"reasoning (call {call.seq}, {call.provider}:{call.model})"
            _section(console, title, call.reasoning)


def _print_calls(console: Console, calls: list[StoredCall]) -> None:
    if not calls:
        console.print("no calls")
        return
    table = calls_table(calls)
    if stdout_is_terminal():
        console.print(table)  # fits the terminal (the run's id is whole above)
    else:
        print_whole(console, table)  # piped: nothing cut
    for call in calls:
        if call.error:
            console.print(_field(f"call {call.seq}", f"error: {call.error}"))


def _section(console: Console, title: str, text: str | None) -> None:
    from rich.text import Text

    console.print()
    console.print(Text(title, style="bold"))
    console.print(Text(printable(text) if text else "-"))


def calls_table(calls: list[StoredCall]) -> Table:
    tiers = any(call.requested_tier or call.served_tier for call in calls)
    names = ["#", "stage", "model", "status", "in", "out", "reas", "cost", "latency", "ttft"]
    table = _table(*names, *(["tier"] if tiers else []), "end")
    for index in (4, 5, 6, 7, 8, 9):
        table.columns[index].justify = "right"
    for call in calls:
        table.add_row(
            str(call.seq),
            call.stage or "",
            f"{call.provider}:{call.model}",
            call.status,
            str(call.input_tokens),
            str(call.output_tokens),
            str(call.reasoning_tokens),
            usd(call.cost_usd, call.cost_source),
            _seconds(call.latency_ms),
            _seconds(call.ttft_ms),
            *([tier_cell(call.requested_tier, call.served_tier)] if tiers else []),
            call.finish_reason or "",
        )
    return table


def tier_cell(requested: str | None, served: str | None) -> str:
    """The tier a call was served (and priced) at, and the one it asked for when another:
    ``flex``, ``standard (asked flex)``, ``- (asked flex)`` for a refused attempt."""
    if requested and requested != served:
        return f"{served or '-'} (asked {requested})"
    return served or "-"


def _seconds(ms: int | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.2f}s"


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
    return usd_fields(record)


def _rate(row: Row) -> str:
    rate = row.escalation_rate
    return "-" if rate is None else f"{row.escalated}/{row.cascades} {rate:.0%}"


def print_stats(console: Console, stats: Stats) -> None:
    from rich.text import Text

    total = stats.total
    since = f"since {local_time(stats.since, full=True)}" if stats.since else "all time"
    lines = [
        Text(
            f"{total.runs} runs {since}: {usd(total.spent)} spent, "
            f"{usd(total.average)} per run on average",
            style="bold",
        ),
        Text(f"escalated {_rate(total)} of cascade runs"),
    ]
    if total.saved is not None:
        lines.append(
            Text(
                f"the strong model alone would have cost {usd(total.strong_alone)}: "
                f"saved {usd(total.saved)}"
            )
        )
    if stats.reused:
        lines.append(Text(f"{stats.reused} answers reused: reuse saved {usd(stats.reuse_saved)}"))
    if total.unknown_cost:
        lines.append(Text(f"{total.unknown_cost} runs used a model of unknown price"))
    for line in lines:
        console.print(line, soft_wrap=False)
    if stats.rows:
        console.print()
        console.print(stats_table(stats, console.width))


def stats_table(stats: Stats, width: int) -> Table:
    """One row per group, with a bar of its spend."""
    from rich.text import Text

    per_call = stats.by in ("model", "provider")
    if per_call:
        table = _table(stats.by, "calls", "spent", "share")
    else:
        table = _table(stats.by, "runs", "spent", "avg", "escalated", "strong", "saved")
    table.add_column("", no_wrap=True, min_width=BAR_WIDTH)
    for column in table.columns[1:-1]:
        column.justify = "right"
    cells = []
    for row in stats.rows:
        if per_call:
            share = f"{row.spent / stats.total.spent:.0%}" if stats.total.spent else "-"
            cells.append([row.key, str(row.calls), usd(row.spent), share])
        else:
            money = [usd(row.spent), usd(row.average), _rate(row), usd(row.strong_alone)]
            cells.append([row.key, str(row.runs), *money, usd(row.saved)])
    _fit_widths(table, cells, min(width, 100))
    top = max((row.spent for row in stats.rows), default=Decimal(0))
    bar_width = table.columns[-1].width or BAR_WIDTH
    for row, row_cells in zip(stats.rows, cells, strict=True):
        table.add_row(*row_cells, Text(_bar(row.spent, top, bar_width), style="cyan"))
    return table


def _bar(value: Decimal, top: Decimal, width: int) -> str:
    if top <= 0 or value <= 0:
        return ""
    eighths = int(value / top * width * 8)
    full, rest = divmod(max(eighths, 1), 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[rest]
