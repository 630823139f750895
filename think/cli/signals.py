"""SIGTERM and SIGHUP end a query as Ctrl-C does: the run is ``cancelled`` with its partial
calls recorded, the terminal is restored, and the exit code is 128 + the signal's number.

``timeout``, CI cancellation, ``docker stop`` and systemd send SIGTERM; a closed terminal
sends SIGHUP. Their default action kills the process on the spot, with nothing recorded. While
a query runs, each cancels it the way asyncio's own Ctrl-C handling does (the main task is
cancelled, so every ``finally`` runs and the run's end is written); the default comes back
when the query ends. A signal that is ignored (``nohup``) or handled by someone else is left
alone.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

from think.run import cancel_message

T = TypeVar("T")

ENDING_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Terminated(KeyboardInterrupt):
    """A query ended by SIGTERM or SIGHUP; handled as Ctrl-C's KeyboardInterrupt is."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def run_until_signal(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, where SIGTERM and SIGHUP cancel ``main`` and then raise
    :class:`Terminated`, as Ctrl-C cancels it and then raises KeyboardInterrupt."""
    received: list[int] = []

    async def guarded() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        installed: list[signal.Signals] = []

        def on_signal(signum: int) -> None:
            if not received and task is not None:  # a second signal does not cut the cleanup
                received.append(signum)
                task.cancel(cancel_message(signum))

        for signum in ENDING_SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_DFL:
                continue  # ignored (nohup) or someone else's handler
            try:
                loop.add_signal_handler(signum, on_signal, int(signum))
            except (ValueError, RuntimeError):  # not the main thread
                continue
            installed.append(signum)
        try:
            return await main
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)  # back to the default

    try:
        return asyncio.run(guarded())
    except asyncio.CancelledError:
        if received:
            raise Terminated(received[0]) from None
        raise
