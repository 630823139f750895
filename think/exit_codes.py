"""Process exit codes: the contract scripts rely on (documented in the README)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """The run finished and printed an answer."""
    INTERNAL = 1
    """A bug in think itself."""
    USAGE = 2
    """Bad command line, bad input or bad configuration."""
    PROVIDER = 3
    """A provider failed: unreachable, server errors, retries exhausted, stream cut."""
    AUTH = 4
    """A provider refused the credentials (401/403) or no key is configured."""
    BUDGET = 5
    """The budget ran out before an answer was complete; the best answer so far is printed."""
    NOT_RECORDED = 6
    """The answer was printed but the ledger could not record the run."""
    SPENDING_CAP = 7
    """A daily or monthly spending cap leaves too little for the run: refused, nothing spent."""
    TARGET_NOT_MET = 8
    """``think calibrate``: no setting of the grid meets the target; nothing was saved."""
    INTERRUPTED = 130
    """Ctrl-C (SIGINT); the partial run is still recorded."""
