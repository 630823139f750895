"""Service tiers on the GSM8K replay: the default cascade with its cheap samples on flex,
against everything on standard.

Runs the real default cascade (``replay:gpt-3.5-turbo`` cheap, ``replay:gpt-4`` strong, the
strategy code and call runner a query uses) over every question of
../shared/replay/gsm8k.jsonl (or the file given), keeps each call's recorded token counts and
stage, and prices them three ways:

1. as recorded: the replay's 2023 list prices (its reported ``cost_usd``), all standard;
2. the same models with the cheap stage at 50% of its price. gpt-3.5-turbo and gpt-4 were
   never offered on flex: this row applies OpenAI's documented rule (flex = Batch API rates,
   50% of standard; developers.openai.com/api/docs/guides/flex-processing) to them, as an
   assumption, not a price anyone paid;
3. re-priced at a modern pair that does have flex prices, with genai-prices' own standard
   and flex rates through think's tier pricing (:mod:`think.tiers.prices`): the replay's
   token counts are kept (the replay cannot replay other models' answers, so accuracy and
   escalations are the recorded models'; only the prices change).

The replay reports costs, it has no tier and no re-pricing of its own: rows 2 and 3 are
computed here from the recorded token counts. Flex is assumed to always have capacity (no
429 Resource Unavailable refusals, hence no fallback calls at standard).
Run from the repository root: ``.venv/bin/python benchmarks/tiers.py [FILE]``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from think import events
from think.cli import wiring
from think.config.settings import load_settings
from think.evaluate.runner import is_correct, load_dataset
from think.model_ref import parse_model_ref
from think.pricing import ModelPrice
from think.run import Query, execute
from think.strategies.answers import parse_answer_format
from think.usage import Usage

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = ROOT.parent / "shared" / "replay" / "gsm8k.jsonl"
MODERN = (("openai:gpt-5-mini", "openai:gpt-5"), ("openai:gpt-5-nano", "openai:gpt-5-mini"))
"""Modern (cheap, strong) pairs OpenAI serves on flex, with flex prices in genai-prices."""
HALF = Decimal("0.5")

Calls = list[events.CallRecord]


async def replay(
    dataset: Path, *, upfront: bool = False, strong_only: bool = False
) -> tuple[list[Calls], int]:
    """Every question's call records under the default cascade (``upfront``: as ``think
    batch --mode batch`` runs it, every cheap sample drawn at once; ``strong_only``: one
    gpt-4 answer instead), and how many were right."""
    settings = load_settings(
        {"cheap": "replay:gpt-3.5-turbo", "strong": "replay:gpt-4", "replay_file": dataset}
        if not strong_only
        else {"model": "replay:gpt-4", "strategy": "single", "replay_file": dataset}
    )
    strategy = wiring.build_strategy(settings)
    if upfront:
        strategy = dataclasses.replace(strategy, upfront=True)  # type: ignore[type-var]
    catalog = wiring.provider_catalog(settings)
    price_for = wiring.price_lookup(settings, catalog)
    base = wiring.query_options(settings)
    gate = asyncio.Semaphore(8)
    correct = 0

    async def one(item_number: int) -> Calls:
        nonlocal correct
        item = items[item_number]
        found: Calls = []

        def keep(event: events.Event) -> None:
            if isinstance(event, events.CallFinished):
                found.append(event.call)

        options = dataclasses.replace(base, answer_format=parse_answer_format(item.kind))
        query = Query(prompt=item.question, strategy=strategy, options=options, max_cost=None)
        async with gate:
            run = await execute(query, keep, price_for, catalog.create)
        correct += is_correct(run, item)
        return found

    items = load_dataset(dataset)
    runs = await asyncio.gather(*(one(n) for n in range(len(items))))
    return list(runs), correct


def total(runs: list[Calls], price: Callable[[events.CallRecord], Decimal]) -> Decimal:
    return sum((price(call) for calls in runs for call in calls), Decimal(0))


def is_cheap(call: events.CallRecord) -> bool:
    """A call of the cheap model (the cheap samples: the default cascade has no judge)."""
    return call.model == "gpt-3.5-turbo"


def recorded(call: events.CallRecord) -> Decimal:
    return call.cost.usd or Decimal(0)


def tokens(call: events.CallRecord) -> Usage:
    return Usage(input_tokens=call.usage.input_tokens, output_tokens=call.usage.output_tokens)


def modern_prices(cheap: str, strong: str) -> tuple[ModelPrice, ModelPrice, ModelPrice]:
    """(cheap standard, cheap flex, strong standard) from genai-prices via think's pricing."""
    settings = load_settings({})
    catalog = wiring.provider_catalog(settings)
    standard = wiring.price_lookup(settings, catalog)
    tiered = wiring.tier_price_lookup(settings, catalog)
    cheap_ref, strong_ref = parse_model_ref(cheap), parse_model_ref(strong)
    found = (standard(cheap_ref), tiered(cheap_ref, "flex"), standard(strong_ref))
    if any(p is None for p in found):
        raise SystemExit(f"no standard or flex price for {cheap} / {strong}")
    return found  # type: ignore[return-value]


def repriced(
    runs: list[Calls], prices: tuple[ModelPrice, ModelPrice, ModelPrice], *, flex: bool
) -> Decimal:
    """The recorded token counts at a modern pair's prices, the cheap calls on flex or not."""
    cheap_std, cheap_flex, strong_std = prices

    def at(call: events.CallRecord) -> Decimal:
        if is_cheap(call):
            return (cheap_flex if flex else cheap_std).cost(tokens(call))
        return strong_std.cost(tokens(call))

    return total(runs, at)


def main() -> None:
    dataset = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SET
    with tempfile.TemporaryDirectory() as home:  # no user config or ledger is read
        os.environ["THINK_CONFIG"] = str(Path(home) / "config.toml")
        runs, correct = asyncio.run(replay(dataset))
        cheap_calls = sum(is_cheap(c) for calls in runs for c in calls)
        strong_calls = sum(c.stage == "escalate" for calls in runs for c in calls)
        questions = len(runs)
        print(
            f"{questions} questions, default cascade: {correct / questions:.2%} correct, "
            f"{cheap_calls} cheap calls, {strong_calls} escalations"
        )
        print()
        header = f"{'prices':<46} {'all standard $':>14} {'cheap on flex $':>15} {'saved':>6}"
        print(header)

        def row(name: str, standard: Decimal, flex: Decimal) -> None:
            saved = 1 - flex / standard if standard else Decimal(0)
            print(f"{name:<46} {standard:>14.4f} {flex:>15.4f} {saved:>6.1%}")

        as_recorded = total(runs, recorded)
        flex_rule = total(runs, lambda c: recorded(c) * (HALF if is_cheap(c) else 1))
        row("replay 2023 (gpt-3.5/gpt-4), flex = 50% rule*", as_recorded, flex_rule)
        for cheap, strong in MODERN:
            prices = modern_prices(cheap, strong)
            name = f"{cheap.split(':')[1]} / {strong.split(':')[1]} (genai-prices)"
            row(name, repriced(runs, prices, flex=False), repriced(runs, prices, flex=True))
        print()
        print("* gpt-3.5-turbo was never offered on flex: the 50% is OpenAI's rule, assumed.")


if __name__ == "__main__":
    main()
