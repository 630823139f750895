"""Identifiers for runs and calls: random, short enough to type a prefix of."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from think.periods import iso


def new_run_id() -> str:
    return secrets.token_hex(8)


def call_id(run_id: str, seq: int) -> str:
    return f"{run_id}-{seq:03d}"


def utc_now() -> str:
    """Now as the ledger stores time: ISO-8601 UTC with milliseconds (sorts as text)."""
    return iso(datetime.now(UTC))
