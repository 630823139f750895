"""Consoles and one-line error reporting shared by the commands.

Both consoles print text as text: Rich markup is off (a prompt such as ``close [/x] tag`` or
``[slow] x`` is shown as written, never parsed), and :func:`printable` makes the control
characters of stored or model text visible, so an answer cannot move the cursor, recolour or
retitle the user's terminal.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


_CONTROL = {
    code: f"\\x{code:02x}"
    for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))
    if code not in (9, 10)
}
"""C0 and C1 control characters but tab and newline, each shown as its escape (``\\x1b``)."""


def printable(text: str) -> str:
    """``text`` with its control characters (ANSI escapes, carriage returns, bells …) made
    visible: for showing stored or model text on a terminal."""
    return text.translate(_CONTROL)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False)


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal: tables and the pager are for people; piped output is
    for programs (one record per line, fields separated by tabs, nothing cut)."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # no stdout, or a closed one
        return False


def tab_separated(fields: list[str]) -> str:
    """One line of piped output: the fields whole, with control characters, tabs and
    newlines escaped (``\\t``, ``\\n``) so that one record stays one line."""
    return "\t".join(printable(field.replace("\t", "\\t").replace("\n", "\\n")) for field in fields)


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, markup=False)


def report_error(message: str) -> None:
    """One line on stderr, never a traceback; a server's text in it is shown, not obeyed."""
    first_line = message.strip().splitlines()[0] if message.strip() else "unknown error"
    sys.stderr.write(f"think: error: {printable(first_line)}\n")
    sys.stderr.flush()


def report_warning(message: str) -> None:
    sys.stderr.write(f"think: {printable(message)}\n")
    sys.stderr.flush()
