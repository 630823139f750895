"""Long output on a terminal goes through a pager, as ``git`` and ``gh`` do.

The pager is ``THINK_PAGER``, else ``PAGER``, else ``less -FRX`` when ``less`` is installed
(an empty value or ``cat`` means none). It is used only when stdout is a terminal and the
output is taller than it; ``--no-pager`` turns it off. Piped output is never paged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from think.cli.console import stdout_is_terminal

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT_PAGER = "less -FRX"
PAGER_ENV = ("THINK_PAGER", "PAGER")


def pager_command() -> str | None:
    """The pager to run, or None for none."""
    for name in PAGER_ENV:
        value = os.environ.get(name)
        if value is not None:
            value = value.strip()
            return None if value in ("", "cat") else value
    return DEFAULT_PAGER if shutil.which("less") else None


@contextmanager
def paged(console: Console, *, enabled: bool = True) -> Iterator[Console]:
    """Print to ``console`` inside the block; on a terminal, what was printed goes through
    the pager when it has more lines than the terminal (and ``enabled``)."""
    if not enabled or not stdout_is_terminal():
        yield console
        return
    with console.capture() as capture:
        yield console
    text = capture.get()
    command = pager_command()
    if command is None or text.count("\n") < console.height:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    _run_pager(command, text)


def _run_pager(command: str, text: str) -> None:
    import signal

    env = {**os.environ}
    env.setdefault("LESS", "FRX")  # as git does: raw colours, quit if it fits, keep the screen
    env.setdefault("LV", "-c")
    sys.stdout.flush()
    try:
        process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        sys.stdout.write(text)
        return
    # Ctrl-C belongs to the pager while it runs (less uses it to stop a search).
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if process.stdin is not None:
            with suppress(BrokenPipeError):  # the reader quit before reading everything
                process.stdin.write(text.encode(sys.stdout.encoding or "utf-8", "replace"))
            with suppress(BrokenPipeError):
                process.stdin.close()
        process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
