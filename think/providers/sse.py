"""Incremental Server-Sent Events decoding (the WHATWG ``text/event-stream`` rules).

Lines go in one at a time (as ``httpx.Response.aiter_lines`` yields them, line endings
already stripped); complete events come out. Comment lines (``:``) are skipped, multi-line
``data:`` fields are joined with newlines, and an event is dispatched at each blank line.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


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


async def iter_sse(lines: AsyncIterable[str]) -> AsyncIterator[SSEEvent]:
    decoder = SSEDecoder()
    async for line in lines:
        # aiter_lines may hand over several lines at once when a server uses bare CR.
        for part in line.splitlines() or [""]:
            event = decoder.feed(part)
            if event is not None:
                yield event
    last = decoder.flush()
    if last is not None:
        yield last
