"""Vote counting: plurality with a deterministic tie-break, agreement, early decisions."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

Decision = Literal["accept", "reject"]


@dataclass
class Tally:
    keys: list[str | None] = field(default_factory=list)
    """Every sample's answer key in the order counted; ``None``: no extractable answer."""

    @property
    def counts(self) -> dict[str, int]:
        """Votes per answer key, in order of first appearance."""
        return dict(Counter(key for key in self.keys if key is not None))

    @property
    def total(self) -> int:
        """Samples counted, including those with no extractable answer."""
        return len(self.keys)

    @property
    def missing(self) -> int:
        """Samples with no extractable answer."""
        return self.keys.count(None)

    def add(self, key: str | None) -> None:
        self.keys.append(key)

    def plurality(self) -> tuple[str | None, int]:
        """The most voted answer; ties go to the answer that appeared first."""
        best: str | None = None
        best_count = 0
        for key, count in self.counts.items():
            if count > best_count:
                best, best_count = key, count
        return best, best_count

    def agreement(self) -> float:
        """The plurality's share of all samples counted (0 when none)."""
        return self.plurality()[1] / self.total if self.total else 0.0

    def decided(self, threshold: float, max_samples: int) -> Decision | None:
        """:meth:`reached` with ``ceil(threshold * max_samples)`` agreeing samples needed."""
        return self.reached(max(1, math.ceil(threshold * max_samples - 1e-9)), max_samples)

    def reached(self, needed: int, max_samples: int, *, key: str | None = None) -> Decision | None:
        """Whether more samples could still change the outcome.

        An answer (``key``, else the plurality) is accepted once ``needed`` samples agree on
        it and no other answer can still overtake it; rejected once it cannot get there any
        more (with ``key``) or no answer can (without); ``None`` means draw another sample.
        """
        remaining = max(max_samples - self.total, 0)
        if key is None:
            key, _ = self.plurality()
        votes = self.counts.get(key, 0) if key is not None else 0
        rival = max((n for k, n in self.counts.items() if k != key), default=0)
        if votes >= needed and votes > rival + remaining:
            return "accept"
        if votes + remaining < needed:
            return "reject"
        if remaining == 0:  # a tie goes to the answer that appeared first: ``key``'s
            return "accept" if votes >= needed and votes >= rival else "reject"
        return None

    def unanimous(self, needed: int) -> Decision | None:
        """Whether the first ``needed`` samples (in the order counted) all gave the same
        answer: reject at the first different answer or sample without one; ``None``
        means draw another sample."""
        opening = self.keys[:needed]
        if None in opening or len(set(opening)) > 1:
            return "reject"
        return "accept" if len(opening) >= needed else None
