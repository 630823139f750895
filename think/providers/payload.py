"""Reading provider JSON defensively: a payload that is not JSON is a provider error with a
short excerpt, and a token count that is missing, null or not a number counts as 0."""

from __future__ import annotations

import json
from typing import Any

from think.errors import ProviderError


def parse_json(provider: str, data: str | bytes, what: str = "response data") -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        shown = data[:80] if isinstance(data, str) else data[:80].decode("utf-8", "replace")
        raise ProviderError(f"{provider}: malformed {what}: {shown!r}") from exc


def count(value: Any) -> int:
    """A token count from a usage object (``bool`` is not a number here)."""
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
