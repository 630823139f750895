"""``think ledger sync`` and ``think ledger push``: runs copied into another ledger by their
ids (:mod:`think.ledger.transfer`), the spooled runs of a team ledger that went away mid-run,
or a local ledger's whole history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from think.ledger.transfer import Copied

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document.")]


def _where(location: Path | str) -> str:
    """A ledger as the output names it: a path, or host:port/database (never a password)."""
    from think.ledger.location import is_url, server

    return server(str(location)) if is_url(location) else str(location)


def _counts(copied: Copied) -> str:
    return (
        f"{copied.runs} runs and {copied.calls} calls; {copied.runs_there} runs and "
        f"{copied.calls_there} calls were already there"
    )


def sync(json_output: JsonOpt = False) -> None:
    """Deliver the runs kept in the spool while the team's PostgreSQL ledger was away (the
    next run against it does this too); by ids: nothing counts twice."""
    from think.config.paths import ledger_location
    from think.config.validation import ensure_valid_config
    from think.errors import UsageError
    from think.ledger.location import is_url
    from think.ledger.spool import deliver, spool_file
    from think.ledger.store import Ledger
    from think.ledger.transfer import Copied

    ensure_valid_config()
    location, timeout = ledger_location()
    if not is_url(location):
        raise UsageError(
            f"think ledger sync delivers runs spooled for a team's PostgreSQL ledger; the "
            f"ledger is a file ({location}): nothing to sync"
        )
    with Ledger(location, timeout) as team:
        copied = deliver(team)
    spool = spool_file(str(location))
    if json_output:
        document = {"to": _where(location), "spool": str(spool), **(copied or Copied()).document()}
        typer.echo(json.dumps(document))
    elif copied is None or not copied.rows:
        typer.echo(f"nothing to deliver: no runs are spooled for {_where(location)}")
    else:
        typer.echo(f"delivered to {_where(location)} from {spool}: {_counts(copied)}")


def push(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="URL_OR_PATH",
            help="The ledger to copy into: a postgresql:// URL or a ledger file.",
        ),
    ],
    json_output: JsonOpt = False,
) -> None:
    """Copy this ledger's whole history (runs and calls) into another ledger, typically the
    team's PostgreSQL database; by ids: pushing again copies nothing twice."""
    from think.config.paths import ledger_location
    from think.config.validation import ensure_valid_config
    from think.errors import UsageError
    from think.ledger.location import as_location, is_url
    from think.ledger.store import Ledger
    from think.ledger.transfer import copy_history

    ensure_valid_config()
    location, timeout = ledger_location()
    target = as_location(to)
    same = target == location if is_url(target) else Path(target).resolve() == _resolved(location)
    if same:
        raise UsageError(f"--to: {_where(target)} is the ledger itself; name another ledger")
    with Ledger(location, timeout) as source, Ledger(target, timeout) as destination:
        copied = copy_history(source, destination)
    if json_output:
        document = {"from": _where(location), "to": _where(target), **copied.document()}
        typer.echo(json.dumps(document))
    else:
        typer.echo(f"copied to {_where(target)}: {_counts(copied)}")


def _resolved(location: Path | str) -> Path | None:
    from think.ledger.location import is_url

    return None if is_url(location) else Path(location).resolve()
