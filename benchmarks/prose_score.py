"""Scoring of the prose replay set (benchmarks/prose_replay.py): the judge gate against
cheap-only, strong-only and always-escalate, by mean quality (the recorded GPT-4 label, never
seen by the gate) and cost at think's prices.

Per item the gate sees only the judge's ``p_accept`` (think's share of passing verdicts); it
keeps the cheap answer when the judge answered and ``p_accept`` reaches the threshold, else
pays for the strong answer too. The judge call is priced as if the cheap model had made it.
The oracle row escalates exactly where the strong answer's label is higher: a ceiling that
uses the labels. The threshold is chosen on the tuning half (even item numbers) and reported
on the other half.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from prose_replay import CHEAP, LABELS, PRIMARY_LABEL, STRONG

from think.evaluate.stats import Z95

THRESHOLDS = (0.0, 0.33, 0.66, 1.0)
"""Three sampled verdicts give p_accept 0, 1/3, 2/3 or 1."""
LOGPROB_THRESHOLDS = (0.5, 0.66, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99)
"""Read from log-probabilities, p_accept runs high (median near 0.95 on SmolLM2)."""
QUALITY_MARGIN = 0.02
"""The gate should reach the strong model's mean quality minus 2 points ..."""
COST_SHARE = 0.60
"""... at no more than 60% of its cost."""


@dataclass(frozen=True)
class Item:
    number: int
    cheap: float
    strong: float
    cheap_cost: Decimal
    strong_cost: Decimal
    judge_cost: Decimal
    p_accept: float | None
    """``None``: the judge gave no verdict (never accepted)."""


@dataclass(frozen=True)
class Row:
    name: str
    qualities: tuple[float, ...]
    cost: Decimal
    escalated: int

    @property
    def n(self) -> int:
        return len(self.qualities)

    @property
    def mean(self) -> float:
        return sum(self.qualities) / self.n if self.n else 0.0

    def interval(self) -> tuple[float, float]:
        """Mean ± 1.96 standard errors."""
        if self.n < 2:
            return 0.0, 1.0
        variance = sum((q - self.mean) ** 2 for q in self.qualities) / (self.n - 1)
        half = Z95 * math.sqrt(variance / self.n)
        return max(0.0, self.mean - half), min(1.0, self.mean + half)


def items_of(
    records: Sequence[dict[str, Any]],
    judged: Sequence[dict[str, Any]],
    price: dict[str, Any],
    label: str = PRIMARY_LABEL,
) -> list[Item]:
    """The judged records as scored items (records never judged are left out)."""
    from open_replay import answer_cost

    by_id = {j["id"]: j for j in judged}
    found = []
    for record in records:
        verdict = by_id.get(record["id"])
        if verdict is None:
            continue
        cheap, strong = record["responses"][CHEAP], record["responses"][STRONG]
        found.append(
            Item(
                number=int(record["number"]),
                cheap=float(cheap["labels"][label]),
                strong=float(strong["labels"][label]),
                cheap_cost=answer_cost(price[CHEAP], record, cheap["usage"]),
                strong_cost=answer_cost(price[STRONG], record, strong["usage"]),
                judge_cost=answer_cost(price[CHEAP], record, verdict["judge_usage"]),
                p_accept=None if verdict.get("error") else float(verdict["p_accept"]),
            )
        )
    return found


def accepts(item: Item, threshold: float) -> bool:
    return item.p_accept is not None and item.p_accept >= threshold


def gate_row(name: str, items: Sequence[Item], keep: Sequence[bool], judged: bool) -> Row:
    qualities = tuple(i.cheap if k else i.strong for i, k in zip(items, keep, strict=True))
    cost = sum(
        (
            i.cheap_cost + (i.judge_cost if judged else 0) + (0 if k else i.strong_cost)
            for i, k in zip(items, keep, strict=True)
        ),
        Decimal(0),
    )
    return Row(name, qualities, cost, sum(not k for k in keep))


def score(items: Sequence[Item], thresholds: Sequence[float] = THRESHOLDS) -> list[Row]:
    zero = Decimal(0)
    rows = [
        Row(
            f"{CHEAP} alone",
            tuple(i.cheap for i in items),
            sum((i.cheap_cost for i in items), zero),
            0,
        ),
        Row(
            f"{STRONG} alone",
            tuple(i.strong for i in items),
            sum((i.strong_cost for i in items), zero),
            0,
        ),
        gate_row("always escalate (cheap+judge+strong)", items, [False] * len(items), True),
    ]
    rows += [
        gate_row(f"judge gate, threshold {t:.2f}", items, [accepts(i, t) for i in items], True)
        for t in thresholds
    ]
    rows.append(
        gate_row(
            "oracle gate (labels; ceiling)", items, [i.cheap >= i.strong for i in items], False
        )
    )
    return rows


def meets(row: Row, strong: Row) -> bool:
    return row.mean >= strong.mean - QUALITY_MARGIN and row.cost <= strong.cost * Decimal(
        str(COST_SHARE)
    )


def choose_threshold(items: Sequence[Item], thresholds: Sequence[float] = THRESHOLDS) -> float:
    """On the tuning items: the cheapest threshold that meets the target; else the best
    quality within the cost share; else the best quality."""
    rows = score(items, thresholds)
    strong, gates = rows[1], rows[3 : 3 + len(thresholds)]
    pairs = list(zip(thresholds, gates, strict=True))
    meeting = [(t, r) for t, r in pairs if meets(r, strong)]
    if meeting:
        return min(meeting, key=lambda p: p[1].cost)[0]
    affordable = [(t, r) for t, r in pairs if r.cost <= strong.cost * Decimal(str(COST_SHARE))]
    return max(affordable or pairs, key=lambda p: (p[1].mean, -p[1].cost))[0]


def auroc(items: Sequence[Item]) -> float | None:
    """How well ``p_accept`` ranks the cheap answers GPT-4 preferred (label 1) above the rest
    (0.5: no better than chance); a missing verdict counts as p = 0."""
    good = [i.p_accept or 0.0 for i in items if i.cheap >= 1]
    bad = [i.p_accept or 0.0 for i in items if i.cheap < 1]
    if not good or not bad:
        return None
    wins = sum((g > b) + 0.5 * (g == b) for g in good for b in bad)
    return wins / (len(good) * len(bad))


def table(rows: Sequence[Row]) -> str:
    """One line per row; ``random`` is the expected quality of escalating the same number
    of items at random (what a judge without signal would reach at that cost)."""
    cheap, strong = rows[0], rows[1]
    lines = [
        f"{'setting':<38} {'quality':>7} {'95% CI':>13} {'$/item':>9} {'vs strong':>9} "
        f"{'esc':>5} {'random':>7}"
    ]
    for row in rows:
        low, high = row.interval()
        per_item = float(row.cost) / row.n if row.n else 0.0
        share = float(row.cost / strong.cost) if strong.cost else 0.0
        rate = row.escalated / row.n if row.n else 0.0
        chance = cheap.mean + rate * (strong.mean - cheap.mean)
        lines.append(
            f"{row.name:<38} {row.mean:7.1%} {low:6.1%}-{high:6.1%} {per_item:9.5f} {share:9.1%} "
            f"{rate:5.0%} {chance:7.1%}"
        )
    return "\n".join(lines)


def report(
    records: Sequence[dict[str, Any]],
    judged: Sequence[dict[str, Any]],
    thresholds: Sequence[float] = THRESHOLDS,
) -> str:
    from open_replay import prices

    price = prices()
    items = items_of(records, judged, price)
    tuning = [i for i in items if i.number % 2 == 0]
    held_out = [i for i in items if i.number % 2 == 1]
    chosen = choose_threshold(tuning, thresholds)
    passes = sorted(i.p_accept for i in items if i.p_accept is not None)
    spread = {p: sum(1 for q in passes if abs(q - p) < 1e-9) for p in sorted(set(passes))}
    shown = (
        ", ".join(f"{p:.2f}: {c}" for p, c in spread.items())
        if len(spread) <= 5
        else "quartiles " + ", ".join(f"{passes[len(passes) * k // 4]:.3f}" for k in (1, 2, 3))
    )
    found = auroc(items)
    unjudged = [
        {
            "id": r["id"],
            "error": "not judged",
            "judge_usage": {"input_tokens": 0, "output_tokens": 0},
        }
        for r in records
    ]
    every = items_of(records, unjudged, price)
    baselines = [r for r in score(every, ()) if not r.name.startswith("always")]
    out = [
        f"every item ({len(every)}, no judge)\n{table(baselines)}\n",
        f"{len(items)} judged items of {len(records)}; no verdict on {len(items) - len(passes)}; "
        f"p_accept {shown}; AUROC of "
        f"p_accept for the cheap answers GPT-4 preferred: "
        f"{'n/a' if found is None else f'{found:.3f}'}",
        f"\nwhole set ({len(items)} items)\n{table(score(items, thresholds))}",
        f"\ntuning half (even numbers, {len(tuning)} items)\n{table(score(tuning, thresholds))}",
        f"\nchosen on the tuning half: threshold {chosen:.2f}",
        f"\nheld-out half (odd numbers, {len(held_out)} items)\n"
        f"{table(score(held_out, (chosen,)))}",
    ]
    for label in LABELS:
        if label != PRIMARY_LABEL:
            other = items_of(records, judged, price, label)
            out.append(f"\nwhole set, label {label}\n{table(score(other, thresholds))}")
    return "\n".join(out)
