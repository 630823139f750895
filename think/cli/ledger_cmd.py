"""``think ledger``: recorded runs and what they cost, like a bank statement.

Every listing prints a table (default), ``--json`` or ``--csv``; errors are one line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from think.cli import ledger_copy_cmd
from think.cli.help_panels import PanelCommand

if TYPE_CHECKING:
    from rich.console import Console

    from think.ledger.store import Ledger

app = typer.Typer(
    help=(
        "Recorded runs: list, search, show, spend statistics, export, backup, prune; "
        "push to and sync with a team ledger."
    ),
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
)

TABLE_DAYS = {"day": 30, "week": 26 * 7}
PROMPT_EXCERPT_CHARS = 1000
"""How much of each prompt the table of runs reads: enough for its 200-character excerpt
once runs of whitespace are collapsed."""
DEFAULT_LIMIT = 20
MAX_LIMIT = 1_000_000_000
"""The most runs ``-n`` lists (SQLite's integers end at 2**63; a bigger -n is a usage error)."""
"""The days ``think ledger stats`` shows as a table when ``--since`` is not given."""

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON (one document per line).")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="CSV with a header row.")]
NoPagerOpt = Annotated[
    bool, typer.Option("--no-pager", help="Do not page long output on a terminal.")
]
SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since", metavar="WHEN", help="Only runs since: 7d, 12h, 2w, today, 2026-11-01 (local)."
    ),
]


def _ledger() -> Ledger:
    from think.config.paths import ledger_location
    from think.config.validation import ensure_valid_config
    from think.ledger.store import Ledger

    ensure_valid_config()  # a bad config is an error here too
    return Ledger(*ledger_location())


def _table_period(by: str) -> str | None:
    """The first local day of the default table period (whole days, or whole weeks)."""
    import datetime

    days = TABLE_DAYS.get(by)
    if days is None:
        return None
    first = datetime.date.today() - datetime.timedelta(days=days - 1)
    if by == "week":
        first -= datetime.timedelta(days=first.weekday())
    return first.isoformat()


def _since(text: str | None) -> str | None:
    from think.periods import iso, parse_when

    return None if text is None else iso(parse_when(text, "--since"))


@app.callback()
def recent(
    ctx: typer.Context,
    limit: Annotated[
        int | None,
        typer.Option(
            "-n",
            "--limit",
            metavar="N",
            help="How many runs.",
            show_default="20; with --batch all of them",
        ),
    ] = None,
    since: SinceOpt = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", metavar="MODEL", help="Runs that called this model."),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            metavar="STATUS",
            help="ok, error, budget_exhausted, cancelled, running, abandoned or reused.",
        ),
    ] = None,
    escalated: Annotated[
        bool | None,
        typer.Option("--escalated/--not-escalated", help="Only runs that escalated (or did not)."),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(
            "-q", "--query", metavar="TEXT", help="Full-text search of prompts and answers."
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option("--host", metavar="HOST", help="Runs made on this host (a team's ledger)."),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", metavar="NAME", help="Runs made by this user (a team's ledger)."),
    ] = None,
    batch: Annotated[
        str | None,
        typer.Option(
            "--batch", metavar="ID", help="The runs of one `think batch` (its id or a prefix)."
        ),
    ] = None,
    json_output: JsonOpt = False,
    csv_output: CsvOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """List recent runs, newest first (filters combine). Piped: one tab-separated line per
    run, every field whole."""
    if ctx.invoked_subcommand is not None:
        return
    from think.cli.console import stdout_is_terminal
    from think.cli.ledger_render import (
        output_format,
        print_whole,
        runs_table,
        write_csv,
        write_json_lines,
        write_runs_tsv,
    )
    from think.cli.pager import paged
    from think.ledger.queries import RunFilter, list_runs
    from think.ledger.schema import RUN_COLUMNS

    if limit is None:
        limit = MAX_LIMIT if batch is not None else DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        from think.errors import UsageError

        raise UsageError(f"-n/--limit: {limit} is out of range; give 1 to {MAX_LIMIT:_}")
    fmt = output_format(json_output, csv_output)
    flt = RunFilter(_since(since), model, status, escalated, query, host, batch, user)
    with _ledger() as ledger:
        # The table shows an excerpt of each prompt: only that much of it is read.
        excerpt = PROMPT_EXCERPT_CHARS if fmt == "table" else None
        rows = list_runs(ledger, flt, limit, excerpt=excerpt)
    if fmt == "json":
        write_json_lines(row.document() for row in rows)
    elif fmt == "csv":
        write_csv((row.row for row in rows), list(RUN_COLUMNS))
    elif rows and not stdout_is_terminal():
        write_runs_tsv(rows)
    elif rows:
        with paged(_console(), enabled=not no_pager) as console:
            print_whole(console, runs_table(rows, console.width))
    else:
        _console().print("no runs match" if flt != RunFilter() else "no runs recorded yet")


def _console() -> Console:
    from think.cli.console import stdout_console

    return stdout_console()


@app.command("show", cls=PanelCommand)
def show(
    run_id: Annotated[
        str, typer.Argument(metavar="RUN_ID", help="A run id, or enough of its start.")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="The calls as CSV.")] = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """Everything about one run: its stages, calls, votes, answer and reasoning."""
    from think.cli.ledger_render import output_format, show_run, write_csv, write_json_lines
    from think.cli.pager import paged
    from think.ledger.queries import calls_of, find_run, run_document
    from think.ledger.schema import CALL_COLUMNS

    fmt = output_format(json_output, csv_output)
    with _ledger() as ledger:
        run = find_run(ledger, run_id)
        calls = calls_of(ledger, run)
    if fmt == "json":
        write_json_lines([run_document(run, calls)])
    elif fmt == "csv":
        write_csv((call.row for call in calls), list(CALL_COLUMNS))
    else:
        with paged(_console(), enabled=not no_pager) as console:
            show_run(console, run, calls)


@app.command("stats", cls=PanelCommand)
def stats(
    by: Annotated[
        str,
        typer.Option("--by", metavar="KEY", help="day, week, model, provider, strategy or shape."),
    ] = "day",
    since: SinceOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    csv_output: CsvOpt = False,
) -> None:
    """Spend by day, week, model, provider, strategy or answer shape; escalation rate; savings.

    The table covers the last 30 days (by day) or 26 weeks (by week) unless --since says
    otherwise; --json and --csv cover all time."""
    from think.cli.ledger_render import (
        output_format,
        print_stats,
        stats_record,
        write_csv,
        write_json_lines,
    )
    from think.errors import UsageError
    from think.ledger.stats import GROUPS, spend_stats

    if by not in GROUPS:
        raise UsageError(f"--by: {by!r} is not one of {', '.join(GROUPS)}")
    fmt = output_format(json_output, csv_output)
    if since is None and fmt == "table":
        # A statement covers a period: the table shows recent days/weeks unless --since says
        # otherwise (JSON and CSV cover all time).
        since = _table_period(by)
    with _ledger() as ledger:
        result = spend_stats(ledger, by, _since(since))
    records = [stats_record(row, by, result.total) for row in result.rows]
    if fmt == "json":
        total = stats_record(result.total, "total", result.total)
        total.pop("total")
        from think.money import json_usd

        total.update(reused=result.reused, reuse_saved_usd=json_usd(result.reuse_saved))
        document = {"by": by, "since": result.since, "total": total, "rows": records}
        write_json_lines([document])
    elif fmt == "csv":
        write_csv(records, list(records[0]) if records else [by])
    else:
        print_stats(_console(), result)


@app.command("export", cls=PanelCommand)
def export(
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="jsonl or csv.")] = "jsonl",
    since: SinceOpt = None,
) -> None:
    """Stream the whole ledger to stdout: each run with its calls (constant memory).

    jsonl: one {"run": …, "calls": […]} per line. csv: one row per call, the run's columns
    prefixed run_ and the call's call_ (a run without calls has one row, call_ empty).
    """
    from contextlib import closing

    from think.cli.ledger_render import write_csv, write_json_lines
    from think.errors import UsageError
    from think.ledger.queries import RunFilter, export_documents
    from think.ledger.schema import CALL_COLUMNS, RUN_COLUMNS

    if fmt not in ("jsonl", "csv"):
        raise UsageError(f"--format: {fmt!r} is not jsonl or csv")
    # The stream is closed before the ledger is, also when the reader goes away (a closed
    # pipe): its read snapshot ends on an open connection.
    with (
        _ledger() as ledger,
        closing(export_documents(ledger, RunFilter(since=_since(since)))) as documents,
    ):
        if fmt == "jsonl":
            write_json_lines(documents)
            return
        columns = [f"run_{c}" for c in RUN_COLUMNS] + [f"call_{c}" for c in CALL_COLUMNS]
        write_csv(_flat_rows(documents), columns)


def _flat_rows(documents: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    import json

    for document in documents:
        run = {
            f"run_{key}": json.dumps(value) if isinstance(value, (list, dict)) else value
            for key, value in document["run"].items()
        }
        if not document["calls"]:
            yield run
        for call in document["calls"]:
            yield {**run, **{f"call_{key}": value for key, value in call.items()}}


@app.command("path", cls=PanelCommand)
def path() -> None:
    """Print the ledger file's path (or its URL, the password masked)."""
    from think.config.paths import ledger_location
    from think.config.validation import ensure_valid_config
    from think.ledger.location import shown

    ensure_valid_config()
    typer.echo(shown(ledger_location()[0]))


@app.command("backup", cls=PanelCommand)
def backup(
    target: Annotated[Path, typer.Argument(metavar="FILE", help="A new file for the copy.")],
) -> None:
    """Copy the ledger to FILE, consistent even while other runs write (mode 0600; a SQLite
    ledger: back up a PostgreSQL one with pg_dump)."""
    with _ledger() as ledger:
        count = ledger.backup(target)
    typer.echo(f"backed up {count} runs to {target}")


app.command("sync", cls=PanelCommand)(ledger_copy_cmd.sync)
app.command("push", cls=PanelCommand)(ledger_copy_cmd.push)


@app.command("prune", cls=PanelCommand)
def prune(
    before: Annotated[
        str,
        typer.Option(
            "--before", metavar="WHEN", help="Delete runs started before this (2026-01-01, 90d)."
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete old runs and their calls (asks first unless --yes)."""
    from think.periods import iso, local_time_of, parse_when

    moment = parse_when(before, "--before")
    cutoff = iso(moment)
    with _ledger() as ledger:
        count = ledger.count_before(cutoff)
        if count == 0:
            typer.echo(f"no runs before {local_time_of(moment)}; nothing to prune")
            return
        question = f"delete {count} runs started before {local_time_of(moment)} and their calls?"
        if not yes and not _confirm(question):
            typer.echo("nothing deleted")
            return
        runs, calls = ledger.prune(cutoff)
    typer.echo(f"deleted {runs} runs and {calls} calls started before {local_time_of(moment)}")


def _confirm(question: str) -> bool:
    """Ask on stderr, read the answer from stdin; no answer (EOF) is no."""
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer:
        sys.stderr.write("\n")
    return answer.strip().lower() in ("y", "yes")
