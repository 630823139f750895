"""``think eval``: run real strategies over a dataset and score accuracy against cost.

Datasets are JSONL: ``question``, ``gold``, optional ``answer_kind``
(number|choice|yesno|date|text|code) and ``options`` — the replay format (../shared/replay) is
one. Every (question, setting) pair is a real run of the strategy code through the
providers (``replay:`` models serve recorded answers), scored by comparing the run's
extracted final answer with the normalised gold answer. A ``code`` item has no gold: it is
asked as an open question and scored by its hidden test (``test`` with optional
``entry_point`` and ``code_prefix``, or ``score_cmd``; optional ``timeout``) run against the
answer's code; any item may carry a ``verify_cmd``, the check its cascade and refine
settings gate on instead of their own verifier (:mod:`think.evaluate.code_items`). Results
are appended to a results file as they land, so an interrupted evaluation resumes where it
stopped; an evaluation-wide budget reserves each run's worst case before it starts, so
``--max-cost`` is never exceeded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from think import events
from think.batch.pool import Pool, run_all
from think.calls import PriceLookup
from think.errors import UsageError
from think.evaluate.code_items import parse_code_test, parse_gate, with_item_gate
from think.evaluate.code_score import CodeTest, score_answer
from think.evaluate.results import ItemResult, ResultsFile
from think.providers.base import Provider
from think.run import Query
from think.strategies.answers import normalize, parse_answer_format
from think.strategies.base import QueryOptions, Strategy
from think.strategies.normalize import AnswerKind
from think.strategies.verifiers import CommandVerifier

DATASET_KINDS: tuple[AnswerKind, ...] = ("number", "choice", "yesno", "date", "text", "code")


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    gold: str
    kind: AnswerKind
    options: tuple[str, ...] = ()
    code: CodeTest | None = None
    """A code item's hidden test: for scoring only, never shown to a strategy."""
    gate: CommandVerifier | None = None
    """The item's ``verify_cmd``."""


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
            gold = "" if data.get("answer_kind") == "code" else str(data["gold"])
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path}:{number}: needs JSON with question and gold ({exc})") from exc
        kind = next((k for k in DATASET_KINDS if k == (data.get("answer_kind") or "text")), None)
        if kind is None:
            raise UsageError(
                f"{path}:{number}: answer_kind {data.get('answer_kind')!r} is not one of "
                f"{DATASET_KINDS}"
            )
        options = tuple(str(o) for o in data.get("options") or ())
        where = f"{path}:{number}"
        code = parse_code_test(data, where) if kind == "code" else None
        item_id = str(data.get("id", number))
        items.append(
            EvalItem(item_id, question, gold, kind, options, code, parse_gate(data, where))
        )
    if not items:
        raise UsageError(f"{path} holds no questions")
    return items


def sample_items(items: list[EvalItem], size: int | None, seed: int) -> list[EvalItem]:
    """``size`` questions drawn without replacement with ``seed`` (all when ``size`` is None),
    kept in dataset order."""
    if size is None or size >= len(items):
        return items
    chosen = set(random.Random(seed).sample(range(len(items)), size))
    return [item for number, item in enumerate(items) if number in chosen]


@dataclass(frozen=True)
class Contestant:
    """One row of the comparison: a strategy at one setting."""

    name: str
    technique: str
    strategy: Strategy
    """Strategies hold no run state: one instance serves every question."""
    options: QueryOptions
    fingerprint: str = ""
    """Identifies the setting's configuration: results of an edited setting are not reused."""


def is_correct(run: events.RunRecord, item: EvalItem) -> bool:
    gold = normalize(item.gold, item.kind, options=item.options or None)
    return gold is not None and run.final_answer == gold


async def score(run: events.RunRecord, item: EvalItem) -> tuple[bool, str]:
    """Whether the run answered ``item`` correctly, and why (code items: their test's
    outcome, run in a thread so other runs go on)."""
    if item.code is None:
        return is_correct(run, item), ""
    outcome = await asyncio.to_thread(score_answer, run.answer, item.code)
    return outcome.passed, outcome.reason


async def evaluate(
    items: Sequence[EvalItem],
    contestants: Sequence[Contestant],
    *,
    price_for: PriceLookup,
    make_provider: Callable[[str], Provider],
    concurrency: int = 8,
    results: ResultsFile | None = None,
    kept: Mapping[tuple[str, str], ItemResult] | None = None,
    max_cost: Decimal | None = None,
    progress: Callable[[ItemResult], None] | None = None,
) -> tuple[list[ItemResult], str | None]:
    """Run every (question, contestant) pair that ``kept`` (results loaded from ``results``,
    by setting and question) does not already hold for the same configuration; new results
    are appended to ``results``. The runs go through one :class:`~think.batch.pool.Pool`:
    ``concurrency`` at a time, within ``max_cost`` over the whole evaluation.

    Returns all results (resumed ones included) and why the evaluation stopped early, if
    it did (the budget).
    """
    done = kept or {}
    pool = Pool(price_for, make_provider, concurrency=concurrency, max_cost=max_cost)
    collected: list[ItemResult] = []

    async def one(item: EvalItem, contestant: Contestant) -> None:
        previous = done.get((contestant.name, item.id))
        if previous is not None and previous.fingerprint == contestant.fingerprint:
            collected.append(previous)
            if progress is not None:
                progress(previous)
            return
        run = await pool.run(_query(item, contestant), contestant.name)
        if run is None:  # the budget stopped the evaluation
            return
        correct, detail = await score(run, item)
        result = ItemResult(
            setting=contestant.name,
            item_id=item.id,
            correct=correct,
            cost_usd=None if run.cost is None or run.cost.usd is None else float(run.cost.usd),
            escalated=run.escalated,
            status=run.status,
            duration_ms=run.duration_ms or 0,
            fingerprint=contestant.fingerprint,
            detail=detail,
        )
        collected.append(result)
        if results is not None:
            results.add(result)
        if progress is not None:
            progress(result)

    await run_all(one(item, c) for item in items for c in contestants)
    return collected, pool.stopped.reason if pool.stopped is not None else None


def _query(item: EvalItem, contestant: Contestant) -> Query:
    options = dataclasses.replace(
        contestant.options,
        answer_format=parse_answer_format("open" if item.code else item.kind),
        choices=item.options,
    )
    strategy = with_item_gate(contestant.strategy, item.gate)
    return Query(prompt=item.question, strategy=strategy, options=options, max_cost=None)
