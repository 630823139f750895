"""The budget governor: ``--max-cost`` is never exceeded.

Before a call, its worst case (counted input tokens x input price + max output tokens x
output price) is reserved; a call whose worst case does not fit is shrunk to fit or not made.
When the call ends the reservation is replaced by what it actually cost. Reserved plus spent
never exceeds the cap, so recorded spend cannot either (but for the one delta past its
reservation that a server ignoring ``max_tokens`` sends: what was received is counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from think.errors import BudgetExhausted
from think.money import format_usd


def unknown_price(model: str) -> str:
    """What to say of a model that is not in the price catalogue, and how to price it."""
    return f'{model} is not in the price catalogue (set [prices."{model}"] in the config)'


ZERO = Decimal(0)


@dataclass
class Reservation:
    amount: Decimal
    settled: bool = False


class Budget:
    def __init__(self, cap: Decimal | None) -> None:
        self.cap = cap
        self.spent = ZERO
        self.reserved = ZERO

    @property
    def remaining(self) -> Decimal | None:
        if self.cap is None:
            return None
        return max(self.cap - self.spent - self.reserved, ZERO)

    def fits(self, amount: Decimal) -> bool:
        remaining = self.remaining
        return remaining is None or amount <= remaining

    def reserve(self, amount: Decimal | None, what: str) -> Reservation:
        """Hold ``amount`` for a call; ``None`` (price unknown) only fits an uncapped budget."""
        if amount is None:
            if self.cap is not None:
                raise BudgetExhausted(f"cannot keep within --max-cost: {unknown_price(what)}")
            return Reservation(ZERO)
        if not self.fits(amount):
            raise BudgetExhausted(
                f"budget exhausted: {what} could cost up to {format_usd(amount)} but only "
                f"{format_usd(self.remaining)} of {format_usd(self.cap)} is left"
            )
        self.reserved += amount
        return Reservation(amount)

    def settle(self, reservation: Reservation, actual: Decimal | None) -> Decimal:
        """Replace the reservation by the call's actual cost (the reservation when unknown,
        negative or not a number: nothing opens the cap).

        The call runner cuts a stream at the first delta whose running cost passes the
        reservation; that delta was received, so it is counted: only a server that ignores
        the output-token limit can take spend past the cap, by that one delta.
        """
        if reservation.settled:
            return ZERO
        reservation.settled = True
        self.reserved -= reservation.amount
        if actual is None or not actual.is_finite() or actual < 0:
            charged = reservation.amount
        else:
            charged = actual
        self.spent += charged
        return charged
