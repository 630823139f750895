"""``think eval``: run real strategies over a dataset and score accuracy against cost.

Datasets are JSONL: ``question``, ``gold``, optional ``answer_kind``
(number|choice|yesno|date|text) and ``options`` — the replay format (../shared/replay) is
one. Every (question, strategy) pair is a real run of the strategy code through the
providers (``replay:`` models serve recorded answers), scored by comparing the run's
extracted final answer with the normalised gold answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from think import events
from think.calls import PriceLookup
from think.errors import UsageError
from think.providers.base import Provider
from think.run import Query, execute
from think.strategies.answers import normalize, parse_answer_format
from think.strategies.base import QueryOptions, Strategy

KINDS = ("number", "choice", "yesno", "date", "text")


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    gold: str
    kind: str
    options: tuple[str, ...] = ()


def load_dataset(path: Path) -> list[EvalItem]:
    items: list[EvalItem] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data: dict[str, Any] = json.loads(line)
            question = str(data["question"])
            gold = str(data["gold"])
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path}:{number}: needs JSON with question and gold ({exc})") from exc
        kind = str(data.get("answer_kind") or "text")
        if kind not in KINDS:
            raise UsageError(f"{path}:{number}: answer_kind {kind!r} is not one of {KINDS}")
        options = tuple(str(o) for o in data.get("options") or ())
        items.append(EvalItem(str(data.get("id", number)), question, gold, kind, options))
    if not items:
        raise UsageError(f"{path} holds no questions")
    return items


@dataclass
class Score:
    strategy: str
    n: int = 0
    correct: int = 0
    cost: Decimal = Decimal(0)
    cost_unknown: int = 0
    escalated: int = 0
    errors: int = 0
    durations_ms: list[int] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def mean_cost(self) -> Decimal:
        return self.cost / self.n if self.n else Decimal(0)

    @property
    def escalation_rate(self) -> float:
        return self.escalated / self.n if self.n else 0.0


StrategyFactory = Callable[[], Strategy]


def is_correct(run: events.RunRecord, item: EvalItem) -> bool:
    gold = normalize(item.gold, item.kind, options=item.options or None)  # type: ignore[arg-type]
    return gold is not None and run.final_answer == gold


async def evaluate(
    items: Sequence[EvalItem],
    strategies: dict[str, StrategyFactory],
    *,
    options: QueryOptions,
    price_for: PriceLookup,
    make_provider: Callable[[str], Provider],
    concurrency: int = 8,
    sink: events.EventSink | None = None,
    progress: Callable[[str, events.RunRecord, bool], None] | None = None,
) -> list[Score]:
    scores = {name: Score(name) for name in strategies}
    gate = asyncio.Semaphore(max(concurrency, 1))

    async def one(item: EvalItem, name: str) -> None:
        fmt = parse_answer_format(item.kind)
        query = Query(
            prompt=item.question,
            strategy=strategies[name](),
            options=QueryOptions(
                options.max_tokens,
                options.temperature,
                options.system,
                answer_format=fmt,
                choices=item.options,
                effort=options.effort,
            ),
            max_cost=None,
        )
        async with gate:
            run = await execute(query, sink or _ignore, price_for, make_provider)
        score = scores[name]
        correct = is_correct(run, item)
        score.n += 1
        score.correct += int(correct)
        score.escalated += int(run.escalated)
        score.errors += int(run.status != "ok")
        if run.cost is None or run.cost.usd is None:
            score.cost_unknown += 1
        else:
            score.cost += run.cost.usd
        score.durations_ms.append(run.duration_ms or 0)
        if progress is not None:
            progress(name, run, correct)

    await asyncio.gather(*(one(item, name) for item in items for name in strategies))
    return [scores[name] for name in strategies]


def _ignore(event: events.Event) -> None:
    return None


def report(scores: list[Score], baseline: str = "single-strong") -> dict[str, Any]:
    strong = next((s for s in scores if s.strategy == baseline), None)
    strong_cost = strong.mean_cost if strong else Decimal(0)
    rows = []
    for score in scores:
        ratio = float(score.mean_cost / strong_cost) if strong_cost else None
        rows.append(
            {
                "strategy": score.strategy,
                "accuracy": round(score.accuracy, 4),
                "mean_cost_usd": float(score.mean_cost),
                "escalation_rate": round(score.escalation_rate, 4),
                "cost_vs_strong": None if ratio is None else round(ratio, 4),
                "errors": score.errors,
                "cost_unknown": score.cost_unknown,
            }
        )
    return {"n": scores[0].n if scores else 0, "strategies": rows}
