"""Which way of telling short answers from open ones is more reliable and cheaper (issue 11):
the cascade's instruction (ask for a final-answer line "if the question has a single short
final answer", then read the answer's shape) against classifying the question first (one
more call: "SHORT or OPEN?"), both on a real model: the embedded SmolLM2-135M-Instruct.

The prompts and their shapes, fixed before anything was measured (by category, not by any
model's output):

* short: 40 GSM8K questions (every 33rd of ../shared/replay/gsm8k.jsonl), MT-Bench's 10 math
  questions and 9 of its 10 reasoning questions (all but 103, whose reference answer is a list
  of possible reasons), each with a short reference answer;
* open: MT-Bench's writing, roleplay, humanities and coding questions (40).

MT-Bench questions: lm-sys/FastChat ``fastchat/llm_judge/data/mt_bench/question.jsonl``
(Apache-2.0), first turns only; pass the file with ``--mtbench`` (kept outside the repository).

For each prompt: **instruction**: one answer under think's ``SHORT_OR_OPEN_LINE`` system
instruction (greedy), its shape by :func:`think.strategies.answers.answer_shape`;
**classify first**: one call that asks for one word, SHORT or OPEN (greedy, 4 tokens), read
as OPEN unless it says SHORT. Cost: the classify-first call's tokens are extra (the answer is
asked either way); reported as tokens and as a share of the answer's.

Run from the repository root: ``.venv/bin/python benchmarks/shape_methods.py --mtbench FILE
[--limit N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from think.cli import wiring  # noqa: E402
from think.config.settings import load_settings  # noqa: E402
from think.evaluate.stats import wilson_interval  # noqa: E402
from think.providers.base import (  # noqa: E402
    ChatRequest,
    Message,
    TextDelta,
    UsageReported,
)
from think.strategies.answers import answer_shape  # noqa: E402
from think.strategies.reasoning import SHORT_OR_OPEN_LINE  # noqa: E402

GSM8K = ROOT.parent / "shared" / "replay" / "gsm8k.jsonl"
OPEN_CATEGORIES = ("writing", "roleplay", "humanities", "coding")
LIST_OF_REASONS = 103
CLASSIFY = (
    "Does the following request have a single short final answer (a number, a choice, yes or "
    "no, a date, a name or a few words)? Reply with one word: SHORT if it does, OPEN if it "
    "asks for more (an explanation, a story, a proof, a summary, a list or code)."
)


@dataclass(frozen=True)
class Prompt:
    source: str
    text: str
    shape: str


def prompts(mtbench: Path, gsm8k: Path = GSM8K) -> list[Prompt]:
    """The labelled prompts: every 33rd GSM8K question, then MT-Bench's first turns."""
    found: list[Prompt] = []
    with gsm8k.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number % 33 == 0:
                found.append(Prompt("gsm8k", json.loads(line)["question"], "short"))
    for line in mtbench.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        category, first = record["category"], record["turns"][0]
        if category == "math" or (
            category == "reasoning" and record["question_id"] != LIST_OF_REASONS
        ):
            found.append(Prompt(f"mt-bench {category}", first, "short"))
        elif category in OPEN_CATEGORIES:
            found.append(Prompt(f"mt-bench {category}", first, "open"))
    return found


async def ask(
    provider: object, messages: tuple[Message, ...], max_tokens: int
) -> tuple[str, int, int]:
    request = ChatRequest(model="smollm2", messages=messages, max_tokens=max_tokens, temperature=0)
    text: list[str] = []
    usage = (0, 0)
    async for event in provider.stream(request):  # type: ignore[attr-defined]
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, UsageReported):
            usage = (event.usage.input_tokens or 0, event.usage.output_tokens or 0)
    return "".join(text), *usage


async def measure(items: list[Prompt], max_tokens: int) -> list[dict[str, object]]:
    settings = load_settings({"model": "local:smollm2"})
    provider = wiring.provider_catalog(settings).create("local")
    rows = []
    try:
        for item in items:
            user = Message("user", item.text)
            answer, a_in, a_out = await ask(
                provider, (Message("system", SHORT_OR_OPEN_LINE), user), max_tokens
            )
            verdict, c_in, c_out = await ask(
                provider, (Message("system", CLASSIFY), Message("user", item.text)), 4
            )
            rows.append(
                {
                    "source": item.source,
                    "shape": item.shape,
                    "instruction": answer_shape(answer),
                    "classified": "short" if "SHORT" in verdict.upper() else "open",
                    "answer_tokens": a_in + a_out,
                    "classify_tokens": c_in + c_out,
                    "verdict": verdict.strip(),
                }
            )
    finally:
        await provider.aclose()  # type: ignore[attr-defined]
    return rows


def report(rows: list[dict[str, object]]) -> None:
    print(f"{len(rows)} prompts ({sum(r['shape'] == 'short' for r in rows)} short)")
    print(f"{'method':<20} {'right':>7} {'95% CI':>13} {'short→open':>10} {'open→short':>10}")
    for method in ("instruction", "classified"):
        right = sum(r[method] == r["shape"] for r in rows)
        low, high = wilson_interval(right, len(rows))
        short_open = sum(r["shape"] == "short" and r[method] == "open" for r in rows)
        open_short = sum(r["shape"] == "open" and r[method] == "short" for r in rows)
        print(
            f"{method:<20} {right / len(rows):>7.1%} {low:>6.1%}-{high:<6.1%} "
            f"{short_open:>10} {open_short:>10}"
        )
    extra = sum(int(r["classify_tokens"]) for r in rows)  # type: ignore[call-overload]
    base = sum(int(r["answer_tokens"]) for r in rows)  # type: ignore[call-overload]
    print(f"classify first: {extra} more tokens, {extra / base:.0%} on top of the answers' {base}")
    by_source: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_source.setdefault(str(row["source"]), []).append(row)
    print(f"{'source':<22} {'n':>3} {'instruction':>11} {'classified':>10}")
    for source, group in by_source.items():
        inst = sum(r["instruction"] == r["shape"] for r in group) / len(group)
        clas = sum(r["classified"] == r["shape"] for r in group) / len(group)
        print(f"{source:<22} {len(group):>3} {inst:>11.0%} {clas:>10.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mtbench", type=Path, required=True, help="MT-Bench question.jsonl")
    parser.add_argument("--limit", type=int, help="only the first N prompts (a smoke run)")
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()
    items = prompts(args.mtbench)[: args.limit]
    with tempfile.TemporaryDirectory() as home:  # no user config or ledger is read
        os.environ["THINK_CONFIG"] = str(Path(home) / "config.toml")
        start = time.perf_counter()
        rows = asyncio.run(measure(items, args.max_tokens))
    report(rows)
    said: dict[str, int] = {}
    for row in rows:
        said[str(row["verdict"])[:20]] = said.get(str(row["verdict"])[:20], 0) + 1
    print("the classify call said:", ", ".join(f"{k!r} {v}" for k, v in sorted(said.items())))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
