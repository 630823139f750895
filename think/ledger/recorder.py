"""The event sink that writes a run and its calls to the ledger as they happen."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from think.errors import LedgerError

if TYPE_CHECKING:
    from think import events
    from think.ledger.caps import Caps
    from think.ledger.lease import LeaseKeeper
    from think.ledger.store import Ledger


class LedgerRecorder:
    """Event sink that writes the run and its calls as they happen.

    A ledger failure never stops the run: the first error is kept (``self.error``) and the
    command reports it at the end with :data:`ExitCode.NOT_RECORDED`. A team's PostgreSQL
    ledger that fails once the run has started is replaced by its spool
    (:mod:`think.ledger.spool`): the run's start and every later row go there, to be delivered
    later, and ``self.spooled`` names the spool file. ``content=False``
    (``--no-log``) records costs, tokens and timings but no prompt, answer or reasoning.
    """

    def __init__(
        self,
        ledger: Ledger | None,
        error: LedgerError | None = None,
        *,
        content: bool = True,
        start_recorded: bool = False,
        lease: LeaseKeeper | None = None,
    ) -> None:
        self.ledger = ledger
        self.lease = lease
        """Renews the run's reservation while it works (a capped run)."""
        self.error = error
        self.content = content
        self.start_recorded = start_recorded
        """The run's start is already in the ledger (a spending-cap reservation wrote it)."""
        self.started: events.RunRecord | None = None
        self.spooled: Path | None = None
        """The spool the run's rows went to when its team ledger went away mid-run."""
        self.spooled_from = ""
        """The team ledger that went away (host:port/database: never a password)."""

    def close(self) -> None:
        """Stop renewing the run's lease and close the ledger (the run has ended)."""
        if self.lease is not None:
            self.lease.stop()
        if self.ledger is not None:
            self.ledger.close()

    def __call__(self, event: events.Event) -> None:
        from think import events

        if self.ledger is None or self.error is not None:
            return
        if isinstance(event, events.RunStarted):
            self.started = event.run
        try:
            self._record(event)
        except LedgerError as exc:
            if not self._spool(event):
                self.error = exc

    def _record(self, event: events.Event) -> None:
        from think import events

        assert self.ledger is not None
        if isinstance(event, events.RunStarted) and self.start_recorded:
            return
        if isinstance(event, (events.RunStarted, events.RunFinished)):
            self.ledger.record_run(event.run, content=self.content)
            if isinstance(event, events.RunFinished) and self.lease is not None:
                self.lease.stop()  # settled: nothing left to hold
        elif isinstance(event, events.CallStarted) and event.in_flight is not None:
            # A kill mid-call (SIGKILL) leaves this row: the call counts at its worst case.
            self.ledger.record_call(event.in_flight, content=self.content)
        elif isinstance(event, events.CallFinished):
            self.ledger.record_call(event.call, content=self.content)

    def _spool(self, event: events.Event) -> bool:
        """Go on in the spool when the team ledger failed on ``event``: the run's start as
        the team ledger has it (when it started), then ``event``. False: not a team ledger,
        or the spool failed too."""
        from think.ledger.location import is_url
        from think.ledger.spool import open_spool

        team = self.ledger
        if team is None or self.spooled or not is_url(team.location):
            return False
        try:
            spool = open_spool(str(team.location), team.timeout, team.user)
        except LedgerError:
            return False
        try:
            if self.started is not None:
                spool.record_run(self.started, content=self.content)
            self.ledger, self.start_recorded = spool, True
            self._record(event)
        except LedgerError:
            spool.close()
            self.ledger = team
            return False
        self.spooled, self.spooled_from = Path(spool.location), team.engine.where
        with suppress(Exception):  # the connection is gone already
            team.close()
        return True


def start_run(
    ledger: Ledger, run: events.RunRecord, caps: Caps, *, content: bool = True
) -> tuple[LedgerRecorder, events.RunRecord]:
    """The recorder of a run that starts now; under spending caps, the run's maximum cost
    reserved in the ledger first (:func:`~think.ledger.caps.reserve_run`: it raises
    :class:`~think.errors.SpendingCapReached`, nothing recorded, when it does not fit) and
    held by a renewed lease while the run works (:mod:`think.ledger.lease`), so no other
    host settles it."""
    if not caps:
        return LedgerRecorder(ledger, content=content), run
    from think.ledger.caps import reserve_run
    from think.ledger.lease import LeaseKeeper

    run = reserve_run(ledger, run, caps, content=content)
    lease = LeaseKeeper(ledger.location, ledger.timeout, run.id).start()
    return LedgerRecorder(ledger, content=content, start_recorded=True, lease=lease), run
