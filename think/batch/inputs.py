"""The prompts file of ``think batch``: JSON Lines, one prompt per line.

A line is a JSON string (the prompt) or an object ``{"id", "prompt", "input"}``: ``id``
(a string or a number; default the line's number) names the prompt in the output, ``input``
is material the prompt is about (combined with it as ``cat FILE | think PROMPT`` combines
stdin and the argument). Blank lines are skipped. A line that is not JSON, has no prompt,
or repeats an id is a usage error naming the line, before anything is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from think.errors import UsageError

FIELDS = frozenset({"id", "prompt", "input"})


@dataclass(frozen=True)
class Entry:
    """One prompt of the batch, as its line gave it."""

    line: int
    id: str
    prompt: str
    input: str | None = None


def _bad(source: str, number: int, why: str) -> UsageError:
    return UsageError(f"{source}:{number}: {why}")


def _entry(source: str, number: int, text: str) -> Entry:
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise _bad(source, number, f"not JSON ({exc})") from None
    if isinstance(data, str):
        data = {"prompt": data}
    if not isinstance(data, dict):
        raise _bad(source, number, 'give a JSON string or an object {"id", "prompt", "input"}')
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise _bad(source, number, f"unknown field {unknown[0]!r} (id, prompt, input)")
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _bad(source, number, "no prompt (a non-empty string)")
    given = data.get("input")
    if given is not None and not isinstance(given, str):
        raise _bad(source, number, "input is not a string")
    ident = data.get("id", number)
    if isinstance(ident, bool) or not isinstance(ident, (str, int)) or str(ident) == "":
        raise _bad(source, number, "id is not a non-empty string or an integer")
    return Entry(number, str(ident), prompt, given)


def parse_entries(text: str, source: str) -> list[Entry]:
    """Every prompt of ``text`` (the file ``source``), in order."""
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 is JSON
        if not line.strip():
            continue
        entry = _entry(source, number, line)
        if entry.id in seen:
            raise _bad(source, number, f"id {entry.id!r} is also the id of line {seen[entry.id]}")
        seen[entry.id] = number
        entries.append(entry)
    if not entries:
        raise UsageError(f"{source} holds no prompts")
    return entries
