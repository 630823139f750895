"""Errors that end a command with a one-line message, and the documented exit codes
(the contract scripts rely on, listed in the README)."""

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
    PENDING = 9
    """``think batch --mode batch``: a batch job was still running at the provider when
    ``--wait`` ran out; the same command (or ``think batch status``) picks it up later."""
    HANGUP = 129
    """SIGHUP (the terminal closed) during a query: ended as Ctrl-C is, the run recorded."""
    INTERRUPTED = 130
    """Ctrl-C (SIGINT); the partial run is still recorded."""
    TERMINATED = 143
    """SIGTERM (``timeout``, CI cancellation, ``docker stop``) during a query: ended as
    Ctrl-C is, the partial run recorded."""


class ThinkError(Exception):
    """Base class: ``str(error)`` is the one-line message shown to the user."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(ThinkError):
    exit_code = ExitCode.USAGE


class ConfigError(ThinkError):
    exit_code = ExitCode.USAGE


class ProviderError(ThinkError):
    """A provider call failed. ``retryable`` says whether trying again may help."""

    exit_code = ExitCode.PROVIDER

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        attempts: int = 1,
        tier_unavailable: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.attempts = attempts
        self.tier_unavailable = tier_unavailable
        """The requested service tier has no capacity now (OpenAI flex's 429 Resource
        Unavailable): another tier may take the request."""


class AuthError(ProviderError):
    exit_code = ExitCode.AUTH


class StreamCutError(ProviderError):
    """The connection ended before the provider finished the response."""


class BudgetExhausted(ThinkError):
    exit_code = ExitCode.BUDGET


class LedgerError(ThinkError):
    exit_code = ExitCode.NOT_RECORDED


class CalibrationError(ThinkError):
    """No setting of the grid meets what ``think calibrate`` was asked for."""

    exit_code = ExitCode.TARGET_NOT_MET


class SpendingCapReached(ThinkError):
    """The run's maximum cost does not fit what ``daily_budget``/``monthly_budget`` leave."""

    exit_code = ExitCode.SPENDING_CAP
