"""Consoles and one-line error reporting shared by the commands."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def report_error(message: str) -> None:
    """One line on stderr, never a traceback."""
    first_line = message.strip().splitlines()[0] if message.strip() else "unknown error"
    sys.stderr.write(f"think: error: {first_line}\n")
    sys.stderr.flush()


def report_warning(message: str) -> None:
    sys.stderr.write(f"think: {message}\n")
    sys.stderr.flush()
