"""Incremental Server-Sent Events decoding (the WHATWG ``text/event-stream`` rules).

Lines go in one at a time (as :func:`iter_lines` yields them from the response text, line
endings already stripped); complete events come out. Comment lines (``:``) are skipped, multi-line
``data:`` fields are joined with newlines, and an event is dispatched at each blank line.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

_LINE_END = re.compile(r"\r\n|\r|\n")
"""The only SSE line terminators. ``str.splitlines`` (and so ``httpx``'s ``aiter_lines``)
also breaks at U+2028, U+2029, U+0085, VT, FF and more, which JSON allows unescaped
inside strings: a model writing one of them would tear a ``data:`` payload apart."""


@dataclass(frozen=True)
class SSEEvent:
    data: str
    event: str = "message"
    id: str | None = None


class SSEDecoder:
    def __init__(self) -> None:
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None

    def feed(self, line: str) -> SSEEvent | None:
        """Take one line; return the event it completes, if any."""
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def flush(self) -> SSEEvent | None:
        """End of stream: the spec discards an event with no terminating blank line, but
        servers that close right after their last ``data:`` line are common; keep it."""
        return self._dispatch()

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(data="\n".join(self._data), event=self._event or "message", id=self._id)
        self._data = []
        self._event = ""
        return event


async def iter_lines(chunks: AsyncIterable[str]) -> AsyncIterator[str]:
    """Split decoded response text into lines at CR, LF or CRLF (terminators removed)."""
    pending = ""
    async for chunk in chunks:
        if not chunk:
            continue
        pending += chunk
        # A CR at the end may be the first half of a CRLF split across chunks.
        held = pending.endswith("\r")
        lines = _LINE_END.split(pending[:-1] if held else pending)
        pending = lines.pop() + ("\r" if held else "")
        for line in lines:
            yield line
    if pending:
        lines = _LINE_END.split(pending)
        rest = lines.pop()
        for line in lines:
            yield line
        if rest:
            yield rest


def _split(line: str) -> list[str]:
    """The lines inside ``line`` (normally just itself), without a trailing terminator."""
    parts = _LINE_END.split(line)
    if len(parts) > 1 and not parts[-1]:
        parts.pop()
    return parts


async def iter_sse(lines: AsyncIterable[str]) -> AsyncIterator[SSEEvent]:
    decoder = SSEDecoder()
    async for line in lines:
        # Tolerate line sources that leave terminators in (or join lines at bare CR).
        for part in _split(line):
            event = decoder.feed(part)
            if event is not None:
                yield event
    last = decoder.flush()
    if last is not None:
        yield last
