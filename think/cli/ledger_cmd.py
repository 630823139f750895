"""``think ledger``: review recorded runs."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Review recorded runs (cost, status, answers).",
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
)


def _ledger() -> Any:
    from think.cli.query_run import open_ledger
    from think.settings import load_settings

    return open_ledger(load_settings())


def _excerpt(text: str | None, width: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@app.callback()
def recent(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("-n", "--limit", min=1, help="How many runs.")] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="JSON lines, one per run.")] = False,
) -> None:
    """List recent runs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from decimal import Decimal

    from rich.table import Table

    from think.cli.console import stdout_console
    from think.pricing import format_usd

    ledger = _ledger()
    try:
        rows = ledger.recent_runs(limit)
    finally:
        ledger.close()
    if json_output:
        for row in rows:
            row["models"] = json.loads(row["models"]) if row.get("models") else []
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("time", "run", "status", "strategy", "model", "tokens", "cost", "prompt"):
        table.add_column(column, no_wrap=column != "prompt", overflow="ellipsis")
    for row in rows:
        cost = row["cost_usd"]
        tokens = f"{row['input_tokens'] or 0}+{row['output_tokens'] or 0}"
        table.add_row(
            (row["started_at"] or "")[:19].replace("T", " "),
            row["id"][:8],
            row["status"],
            row["strategy"],
            row["answer_model"] or ", ".join(json.loads(row["models"] or "[]")),
            tokens,
            format_usd(None if cost is None else Decimal(str(cost))),
            _excerpt(row["prompt"], 60),
        )
    console = stdout_console()
    if rows:
        console.print(table)
    else:
        console.print("no runs recorded yet")


@app.command("path")
def path() -> None:
    """Print the ledger file's path."""
    from think.cli.query_run import ledger_path
    from think.settings import load_settings

    typer.echo(ledger_path(load_settings()))
