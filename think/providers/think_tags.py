"""Split inline ``<think>…</think>`` reasoning out of streamed content.

Servers without a reasoning parser (llama-cpp-python, Groq ``raw``) put the reasoning of
models such as DeepSeek-R1 or Qwen3 into the content itself, inside ``<think>`` tags at the
start of the answer. Tags may be split across deltas, so the splitter buffers just enough.
"""

from __future__ import annotations

OPEN = "<think>"
CLOSE = "</think>"


class ThinkTagSplitter:
    def __init__(self) -> None:
        self._buffer = ""
        self._state = "start"  # start -> (thinking -> closed ->) answer

    def feed(self, text: str) -> tuple[str, str]:
        """Return ``(reasoning, answer)`` text that can be released for this delta."""
        self._buffer += text
        reasoning = answer = ""
        if self._state == "start":
            stripped = self._buffer.lstrip()
            if stripped.startswith(OPEN):
                self._buffer = stripped[len(OPEN) :]
                self._state = "thinking"
            elif OPEN.startswith(stripped):
                return "", ""  # could still become "<think>"
            else:
                self._state = "answer"
        if self._state == "thinking":
            end = self._buffer.find(CLOSE)
            if end >= 0:
                reasoning = self._buffer[:end]
                self._buffer = self._buffer[end + len(CLOSE) :]
                self._state = "closed"
            else:
                keep = _partial_suffix(self._buffer, CLOSE)
                reasoning = self._buffer[: len(self._buffer) - keep]
                self._buffer = self._buffer[len(self._buffer) - keep :]
                return reasoning, ""
        if self._state == "closed":
            # Drop the whitespace between "</think>" and the answer, even when it comes
            # in later deltas than the tag.
            self._buffer = self._buffer.lstrip()
            if not self._buffer:
                return reasoning, ""
            self._state = "answer"
        if self._state == "answer":
            answer, self._buffer = self._buffer, ""
        return reasoning, answer

    def flush(self) -> tuple[str, str]:
        rest, self._buffer = self._buffer, ""
        if self._state == "thinking":
            return rest, ""
        if self._state == "closed":
            return "", ""
        return "", rest


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0
