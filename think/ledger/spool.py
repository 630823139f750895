"""The spool: where a run keeps its rows when its team's PostgreSQL ledger goes away mid-run.

A run whose reservation (or start) is in the team's database and whose next write there fails
writes the rows it has left to a local SQLite file instead, one per server
(``spool/<host>-<port>-<database>.db`` under the user data dir, ``THINK_SPOOL_DIR``
overrides): its start as the database last had it, then every call and its end as they come.
The spool is a ledger file of its own, not the machine's local ledger: every row in it awaits
delivery, so delivering can clear it, and the local history (``think ledger`` on the file,
``think ledger push``) never mixes with the team's runs.

The next run against that database, or ``think ledger sync``, delivers the spool with
:func:`~think.ledger.transfer.copy_history` (by ids: delivered twice, a row counts once; the
real record replaces the ``abandoned`` a lease expiry gave the run meanwhile) and deletes
each batch of settled runs from the spool only after the database committed it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from think.ledger.store import Ledger
    from think.ledger.transfer import Copied


def spool_file(url: str) -> Path:
    """The spool of the team ledger at ``url`` (named by its server and database only: never
    by its user or password)."""
    from think.config.paths import spool_dir
    from think.ledger.location import server

    name = re.sub(r"[^A-Za-z0-9._-]+", "-", server(url).replace(":", "-")).strip("-.")
    return spool_dir() / f"{name or 'ledger'}.db"


def open_spool(url: str, timeout: float, user: str | None = None) -> Ledger:
    """The spool of ``url``, recording runs as ``user``'s (as the team ledger would)."""
    from think.ledger.store import Ledger

    return Ledger(spool_file(url), timeout, user)


def deliver(team: Ledger) -> Copied | None:
    """Deliver what waits in the spool of the team ledger ``team``; None: no spool exists."""
    from think.ledger.location import is_url

    if not is_url(team.location) or not spool_file(str(team.location)).exists():
        return None
    from think.ledger.abandoned import settle_dead_runs
    from think.ledger.transfer import Copied, copy_history

    with open_spool(str(team.location), team.timeout) as spool:
        if spool.one("SELECT id FROM runs LIMIT 1") is None:  # delivered already: no write
            return Copied()
        # A spooled run whose process died before it ended: abandoned here, then delivered.
        with spool.immediate("settle runs in", lock="caps") as conn:
            settle_dead_runs(conn, datetime.now(UTC))

        def clear(run_ids: list[str]) -> None:
            if not run_ids:
                return
            marks = ", ".join("?" for _ in run_ids)
            with spool.immediate("clear") as conn:
                conn.execute(f"DELETE FROM calls WHERE run_id IN ({marks})", run_ids)
                conn.execute(f"DELETE FROM runs WHERE id IN ({marks})", run_ids)

        return copy_history(spool, team, delivered=clear)
