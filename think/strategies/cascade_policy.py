"""The cascade's acceptance rule: how many cheap samples must agree, drawn how, before the
cheap answer is kept (:class:`CascadePolicy`; the strategy is :mod:`think.strategies.cascade`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from think.strategies.normalize import AnswerKind
from think.strategies.tally import Decision, Tally

EXPECTED_ESCALATION_RATE = 0.3
"""For --dry-run's expected cost: a typical share of questions that need the strong model."""


CLOSED_KINDS = ("choice", "yesno")
"""Answer kinds with few possible values: two samples can agree by chance."""


@dataclass(frozen=True)
class CascadePolicy:
    """When the cheap answer is accepted.

    Default (``agreement`` None), two checks in turn:

    1. screen: the opening samples must all give the same answer — ``open_screen`` (2), or
       ``closed_screen`` (3) for multiple choice and yes/no, where two samples agree by
       chance far more often; never fewer than the ``initial`` batch, drawn concurrently, so
       the order in which its samples arrive does not matter. A disagreement, or a sample
       without an answer, escalates.
    2. confirm: the screened answer needs ``votes`` (3) agreeing samples of up to
       ``max_samples`` (default 5, at least ``MIN_DEFAULT_SAMPLES``) that no other answer can
       still overtake; once it cannot get there, escalate.

    A general rule, chosen among a few such rules measured on recorded GSM8K answers and
    checked on date-understanding, AQuA and SVAMP answers (benchmarks/README.md). With
    ``agreement`` instead: ``ceil(agreement × max_samples)`` of up to ``max_samples``
    (default 4) samples must agree on any answer, with no screen.
    """

    initial: int = 2
    agreement: float | None = None
    max_samples: int | None = None
    open_screen: int = 2
    closed_screen: int = 3
    votes: int = 3
    DEFAULT_MAX_SAMPLES = 5
    MIN_DEFAULT_SAMPLES = 3
    """The default rule's least ``max_samples``: fewer would weaken the closed-kind screen."""
    AGREEMENT_MAX_SAMPLES = 4
    """``max_samples`` when ``agreement`` is set without it."""

    @property
    def most_samples(self) -> int:
        """The most cheap samples one run may draw."""
        if self.max_samples is not None:
            return self.max_samples
        return self.DEFAULT_MAX_SAMPLES if self.agreement is None else self.AGREEMENT_MAX_SAMPLES

    @property
    def expected_samples(self) -> float:
        """Cheap samples a typical run draws, for --dry-run's expected cost: the opening
        batch, plus (default rule) the confirming votes when the run is not escalated."""
        if self.agreement is not None:
            return float(min(self.initial, self.most_samples))
        opening = self.screen(None)
        confirming = self.needed(None) - opening
        return opening + confirming * (1 - EXPECTED_ESCALATION_RATE)

    def screen(self, kind: AnswerKind | None) -> int:
        """Opening samples that must all agree before the vote counts (default rule)."""
        wanted = self.closed_screen if kind in CLOSED_KINDS else self.open_screen
        return min(max(wanted, self.initial), self.most_samples)

    def needed(self, kind: AnswerKind | None) -> int:
        """Agreeing samples needed to accept an answer of ``kind``."""
        if self.agreement is None:
            return min(max(self.screen(kind), self.votes), self.most_samples)
        return max(1, math.ceil(self.agreement * self.most_samples - 1e-9))

    def decided(self, tally: Tally, kind: AnswerKind | None) -> Decision | None:
        if self.agreement is not None:
            return tally.decided(self.agreement, self.most_samples)
        screened = tally.unanimous(self.screen(kind))
        if screened != "accept":
            return screened
        return tally.reached(self.needed(kind), self.most_samples, key=self.judged(tally))

    def judged(self, tally: Tally) -> str | None:
        """The answer the rule judges: the screened (first) answer by default, else the
        plurality."""
        first = tally.keys[0] if tally.keys else None
        if self.agreement is None and first is not None:
            return first
        return tally.plurality()[0]

    def describe(self, kind: AnswerKind | None) -> str:
        needed = self.needed(kind)
        if self.agreement is not None:
            return f"{needed} of {self.most_samples}"
        screen = self.screen(kind)
        if screen >= needed:
            return f"{screen} of {screen}"
        return f"{screen} of {screen}, then {needed} of {self.most_samples}"
