"""The one way ``--json`` documents are written: RFC 8259 JSON, always.

Python's ``json`` writes ``Infinity`` and ``NaN`` for non-finite floats, which no standard
parser reads. They can arrive from outside (a server reporting ``"cost": 1e999``, a damaged
ledger file); a number that is not finite is not known, so it is written as ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (in dicts, lists and tuples) made ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def dumps(document: Any, **options: Any) -> str:
    """``json.dumps`` that never writes ``Infinity`` or ``NaN`` (they become ``null``)."""
    return json.dumps(finite(document), allow_nan=False, **options)
