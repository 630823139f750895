"""Errors that end a command with a one-line message and a documented exit code."""

from __future__ import annotations

from think.exit_codes import ExitCode


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
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.attempts = attempts


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
