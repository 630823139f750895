"""Identifiers for runs and calls: random, short enough to type a prefix of."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_run_id() -> str:
    return secrets.token_hex(8)


def call_id(run_id: str, seq: int) -> str:
    return f"{run_id}-{seq:03d}"


def utc_now() -> str:
    """ISO-8601 UTC timestamp with milliseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
