"""Amounts of money as think shows and stores them (a light module: no pydantic)."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

MAX_USD = Decimal(1_000_000)
"""The largest amount a setting (``--max-cost``, a budget) may name: larger is a typo."""


LEDGER_MAX_USD = 1e12
"""Stored amounts are read back within ±this: an old row holding a huge or infinite value
(written before reports were checked) is still shown, and summed, without overflow."""


def usd_from_ledger(value: float | int | None) -> Decimal:
    """A cost read back from the ledger (stored as REAL) as a Decimal; None is $0, and so is
    anything that is not a number; infinities and huge values are held to
    :data:`LEDGER_MAX_USD`.

    12 decimal places: far below a millionth of a cent, and above the float noise of sums.
    """
    try:
        number = float(value or 0)
    except (TypeError, ValueError):
        number = 0.0
    if math.isnan(number):
        number = 0.0
    number = max(-LEDGER_MAX_USD, min(number, LEDGER_MAX_USD))
    return Decimal(repr(number)).quantize(Decimal("1e-12"))


SMALLEST_SHOWN = Decimal("1e-9")
"""Amounts below a billionth of a dollar are shown as ``<$0.000000001``, not in 300 digits."""

JSON_PLACES = Decimal("1e-9")
"""Money in ``--json`` and CSV is rounded to the nano-dollar: exact for any call's cost (a
cheap call costs about a micro-dollar) without float noise such as 0.00024647105263157895."""


def format_usd(value: Decimal | float | None, *, exact: bool = False) -> str:
    """The one format for people: ``$1.23``, ``$0.12``, ``$0.01``, ``$0.0012``,
    ``$0.00001``; ``unknown`` for None (and for a value that is not a number).

    Amounts of a dollar or more get cents; smaller ones at most two significant digits and
    no trailing zeros past the cents. Never an exponent. ``exact`` keeps every digit (a
    catalogue price: ``$0.275``, ``$1.10``).
    """
    if value is None:
        return "unknown"
    if not isinstance(value, Decimal):
        value = Decimal(repr(float(value)))
    if not value.is_finite():
        return "unknown"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value == 0:
        return "$0.00"
    if exact:
        whole, _, fraction = f"{value.normalize():f}".partition(".")
        return f"{sign}${int(whole):,}.{fraction.ljust(2, '0')}"
    if value < SMALLEST_SHOWN:
        return f"{sign}<${SMALLEST_SHOWN:f}"
    if value >= 1:
        return f"{sign}${value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    # two significant digits: the first one has exponent value.adjusted() (0.0012 -> -3)
    places = max(2, 1 - value.adjusted())
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{rounded:f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{sign}${whole}.{fraction}"


def usd_fields(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every money field (a key ending in ``_usd``, at any depth) as
    :func:`json_usd` gives it: the one rounding of money for ``--json`` and CSV."""
    shaped: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            shaped[key] = usd_fields(value)
        elif isinstance(value, list):
            shaped[key] = [usd_fields(v) if isinstance(v, dict) else v for v in value]
        elif key.endswith("_usd") and isinstance(value, (int, float, Decimal)):
            shaped[key] = json_usd(value)
        else:
            shaped[key] = value
    return shaped


def json_usd(value: Decimal | float | None) -> float | None:
    """A money value for ``--json`` and CSV: rounded to :data:`JSON_PLACES`; None stays None
    (unknown), and so does a value that is not a finite number."""
    if value is None:
        return None
    amount = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    if not amount.is_finite():
        return None
    if abs(amount) >= LEDGER_MAX_USD:  # an old row's absurd amount: nothing to round
        return float(amount)
    return float(amount.quantize(JSON_PLACES, rounding=ROUND_HALF_UP)) + 0.0  # no -0.0
