"""Reading provider JSON defensively: a payload that is not JSON is a provider error with a
short excerpt, and a token count that is missing or null counts as 0 (one that is not a
number is kept as :data:`think.usage.UNREADABLE`, for the call runner to refuse)."""

from __future__ import annotations

import json
from typing import Any

from think.errors import ProviderError
from think.usage import count_value


def parse_json(provider: str, data: str | bytes, what: str = "response data") -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        shown = data[:80] if isinstance(data, str) else data[:80].decode("utf-8", "replace")
        raise ProviderError(f"{provider}: malformed {what}: {shown!r}") from exc


def count(value: Any) -> int:
    """A token count from a usage object: see :func:`think.usage.count_value`."""
    return count_value(value)
