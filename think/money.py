"""Amounts of money as think shows and stores them (a light module: no pydantic)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MAX_USD = Decimal(1_000_000)
"""The largest amount a setting (``--max-cost``, a budget) may name: larger is a typo."""


def usd_from_ledger(value: float | int | None) -> Decimal:
    """A cost read back from the ledger (stored as REAL) as a Decimal; None is $0.

    12 decimal places: far below a millionth of a cent, and above the float noise of sums.
    """
    return Decimal(repr(float(value or 0))).quantize(Decimal("1e-12"))


def format_usd(value: Decimal | None) -> str:
    """``$1.23``, ``$0.12``, ``$0.0012``, ``$0.000034``; ``unknown`` for None.

    Amounts of a dollar or more get cents; smaller ones two significant digits.
    """
    if value is None:
        return "unknown"
    if not value.is_finite():
        return f"${value}"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value == 0:
        return "$0.00"
    if value >= 1:
        return f"{sign}${value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    # two significant digits: the first one has exponent value.adjusted() (0.0012 -> -3)
    places = max(2, 1 - value.adjusted())
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded.adjusted() > value.adjusted():  # rounding carried: 0.0995 -> 0.100
        places = max(2, places - 1)
        rounded = rounded.quantize(Decimal(1).scaleb(-places))
    return f"{sign}${rounded:f}"
