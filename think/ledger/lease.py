"""Leases: a run's spending-cap reservation stays held while its process renews it.

A process id says nothing across hosts, so a reservation made on another host is held for
:data:`LEASE` after it was last renewed (``reserved_at``) and then settled as abandoned (see
:mod:`think.ledger.abandoned`). Every recorded call renews it, and while the run works a
:class:`LeaseKeeper` thread renews it every :data:`RENEW_EVERY_S` seconds on its own
connection, so a long reasoning call is never settled from under its run. Runs on the same
host keep the process-id check.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from pathlib import Path

from think.ledger.abandoned import LEASE

__all__ = ["LEASE", "RENEW_EVERY_S", "LeaseKeeper"]

RENEW_EVERY_S = 30.0
"""How often a running run renews its lease (several times per lease: a slow or locked
ledger write does not let it lapse)."""


class LeaseKeeper:
    """Renews ``run_id``'s lease in a background thread until :meth:`stop`. A renewal that
    fails is tried again at the next interval; the run itself never waits for one."""

    def __init__(
        self, location: Path | str, timeout: float, run_id: str, every: float = RENEW_EVERY_S
    ) -> None:
        self.location = location
        self.timeout = timeout
        self.run_id = run_id
        self.every = every
        self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="think-lease", daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def _keep(self) -> None:
        from think.ledger.store import Ledger

        ledger: Ledger | None = None
        try:
            while not self._stop.wait(self.every):
                try:
                    ledger = ledger or Ledger(self.location, self.timeout)
                    ledger.renew_lease(self.run_id)
                    self.renewals += 1
                except Exception:  # any failure: the next interval tries again
                    if ledger is not None:
                        with suppress(Exception):
                            ledger.close()
                    ledger = None
        finally:
            if ledger is not None:
                ledger.close()

    def stop(self) -> None:
        """Stop renewing (the run is settled, or ends now); waits briefly for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.timeout)
