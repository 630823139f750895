"""An open-ended prose replay set (AlpacaEval, recorded gpt-3.5-turbo and gpt-4 answers with
GPT-4's quality labels) and the open-ended judge gate measured on it.

``build`` reads, from a git directory of tatsu-lab/alpaca_eval (the URL is cloned shallow into
the cache, outside the repository; default: think's user cache dir, ``open-replay/``;
``--cache DIR`` to choose; ``--source`` takes a local git directory instead), and writes
``alpacaeval-prose.jsonl`` there:

- ``results/gpt-3.5-turbo-0301/model_outputs.json`` and ``results/gpt4/model_outputs.json``
  (GPT-4 of March 2023): each model's one recorded answer to the 805 AlpacaEval instructions;
- the labels, for scoring only: ``results/<model>/alpaca_eval_gpt4/annotations.json``
  (AlpacaEval 1: GPT-4 prefers the answer to text-davinci-003's, 1 a win, 0.5 a draw, 0 a loss;
  the leaderboard's 89.4% and 95.3%) and ``alpaca_eval_cot_gpt4_turbo_fn`` (the same against
  gpt-4-1106-preview's answer, a harder reference).

The data is CC BY-NC 4.0 (the repository's DATA_LICENSE; the code is Apache-2.0): nothing of it
is committed here. Tokens are counted with tiktoken (the instruction as the models were sent it,
after AlpacaEval's system line; the answer) and priced at think's genai-prices rates.

``judge`` runs think's own open-ended gate (think/strategies/judging.py: its rubric, its three
verdict samples, its reading of the verdict) with the embedded SmolLM2-135M on the cheap answers
and appends each verdict set to ``alpacaeval-judged-smollm2.jsonl`` in the cache (resumable;
``--limit N`` judges the first N items of a seeded shuffle). ``measure`` scores what was judged
(benchmarks/prose_score.py). Run from the repository root:
``.venv/bin/python benchmarks/prose_replay.py build|judge|measure [--cache DIR]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from open_replay import git_show, git_source

SOURCE_REPO = "https://github.com/tatsu-lab/alpaca_eval"
CHEAP, STRONG = "gpt-3.5-turbo", "gpt-4"
RESULT_DIRS = {CHEAP: "gpt-3.5-turbo-0301", STRONG: "gpt4"}
LABELS = {"davinci003": "alpaca_eval_gpt4", "gpt4turbo": "alpaca_eval_cot_gpt4_turbo_fn"}
PRIMARY_LABEL = "davinci003"
SYSTEM = "You are a helpful assistant."
"""AlpacaEval's system line for both models (models_configs/*/chatml_prompt.txt)."""
SET_NAME = "alpacaeval-prose.jsonl"
JUDGED_NAME = "alpacaeval-judged-smollm2.jsonl"
LOGPROB_NAME = "alpacaeval-logprob-smollm2.jsonl"
JUDGE_MODEL = "local:smollm2"
SEED = 11


# --------------------------------------------------------------------------------------------
# Build


def preference_quality(preference: Any) -> float | None:
    """AlpacaEval's preference as a quality in [0, 1]: 2 a win (1), 1 a loss (0), 1.5 or 0 a
    draw (0.5, as its win rate counts draws); missing (the annotator failed) is ``None``."""
    if preference is None or str(preference).strip() in ("", "None", "nan"):
        return None
    value = float(preference)
    return 0.5 if value == 0 else value - 1


def usage_of(instruction: str, output: str) -> dict[str, int]:
    from think.providers.base import Message
    from think.tokens import count_messages, count_text

    messages = (Message("system", SYSTEM), Message("user", instruction))
    return {
        "input_tokens": count_messages(messages, "openai", CHEAP).tokens,
        "output_tokens": count_text(output, "openai", CHEAP).tokens,
    }


def assemble(
    outputs: dict[str, list[dict[str, Any]]],
    annotations: dict[tuple[str, str], list[dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """The replay records (an item per instruction both models answered with every label) and
    why each other instruction was dropped. ``outputs[model]`` is model_outputs.json;
    ``annotations[model, label]`` the annotations, matched to an answer by instruction."""
    labelled = {
        key: {a["instruction"]: preference_quality(a.get("preference")) for a in rows}
        for key, rows in annotations.items()
    }
    records: list[dict[str, Any]] = []
    dropped: list[str] = []
    strong = {o["instruction"]: o for o in outputs[STRONG]}
    for number, cheap in enumerate(outputs[CHEAP]):
        instruction = cheap["instruction"]
        answers = {CHEAP: cheap, STRONG: strong.get(instruction)}
        responses: dict[str, Any] = {}
        for model, answer in answers.items():
            if answer is None:
                break
            labels = {name: labelled[model, name].get(instruction) for name in LABELS}
            if any(v is None for v in labels.values()):
                break
            responses[model] = {
                "text": answer["output"],
                "labels": labels,
                "usage": usage_of(instruction, answer["output"]),
            }
        if len(responses) < len(answers):
            dropped.append(f"{number}: {instruction[:60]!r} lacks an answer or a label")
            continue
        records.append(
            {
                "id": f"alpacaeval-{number}",
                "number": number,
                "dataset": cheap.get("dataset", ""),
                "question": instruction,
                "answer_kind": "open",
                "responses": responses,
            }
        )
    return records, dropped


def build(source: Path) -> tuple[list[dict[str, Any]], list[str]]:
    def read(path: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(git_show(source, path))
        return rows

    outputs = {m: read(f"results/{d}/model_outputs.json") for m, d in RESULT_DIRS.items()}
    annotations = {
        (m, name): read(f"results/{d}/{annotator}/annotations.json")
        for m, d in RESULT_DIRS.items()
        for name, annotator in LABELS.items()
    }
    return assemble(outputs, annotations)


# --------------------------------------------------------------------------------------------
# Judge: think's own gate, run on the embedded model


async def judge_one(question: str, answer: str) -> dict[str, Any]:
    """think's open-ended gate on one cheap answer, with its defaults, through its own
    provider for ``local:smollm2`` (no labels, no reference answer: only the task and the
    answer)."""
    from think.calls import CallContext
    from think.cli import wiring
    from think.config.settings import load_settings
    from think.model_ref import parse_model_ref
    from think.providers.base import Message
    from think.run import messages_for
    from think.strategies.base import RunContext
    from think.strategies.judging import RUBRIC, judge_answer
    from think.tokens import count_messages, count_text

    settings = load_settings()
    catalog = wiring.provider_catalog(settings)
    providers: dict[str, Any] = {}

    def provider_for(ref: Any) -> Any:
        if ref.provider not in providers:
            providers[ref.provider] = catalog.create(ref.provider)
        return providers[ref.provider]

    from think.budget import Budget

    calls = CallContext("prose-judge", lambda event: None, Budget(None), lambda ref: None)
    ctx = RunContext(
        calls, messages_for(question, None), wiring.query_options(settings), provider_for
    )
    started = time.perf_counter()
    judgement = await judge_answer(ctx, parse_model_ref(JUDGE_MODEL), answer)
    texts = [t for record in calls.records for t in (record.texts or ())]
    prompt = (Message("system", RUBRIC), Message("user", f"Task:\n{question}\n\nAnswer:\n{answer}"))
    return {
        "p_accept": judgement.p_accept,
        "verdicts": list(judgement.verdicts),
        "error": judgement.error,
        "texts": texts,
        # As if the cheap model judged: the prompt once (one request with n), each verdict.
        "judge_usage": {
            "input_tokens": count_messages(prompt, "openai", CHEAP).tokens,
            "output_tokens": sum(count_text(t, "openai", CHEAP).tokens for t in texts),
        },
        "seconds": round(time.perf_counter() - started, 2),
    }


def to_judge(records: list[dict[str, Any]], out: Path, limit: int | None) -> list[dict[str, Any]]:
    """The records to judge, in the shuffled order (seed :data:`SEED`; the first ``limit``),
    without those ``out`` already holds (a judge run resumes)."""
    order = list(records)
    random.Random(SEED).shuffle(order)
    order = order[:limit] if limit else order
    done = set()
    if out.exists():
        with out.open(encoding="utf-8") as handle:
            done = {json.loads(line)["id"] for line in handle if line.strip().endswith("}")}
    todo = [r for r in order if r["id"] not in done]
    print(f"judging {len(todo)} of {len(order)} ({len(done)} already in {out})", file=sys.stderr)
    return todo


def judge_all(records: list[dict[str, Any]], out: Path, limit: int | None) -> None:
    todo = to_judge(records, out, limit)
    with out.open("a", encoding="utf-8") as handle:
        for count, record in enumerate(todo, 1):
            found = asyncio.run(judge_one(record["question"], record["responses"][CHEAP]["text"]))
            handle.write(json.dumps({"id": record["id"], **found}, ensure_ascii=False) + "\n")
            handle.flush()
            if count % 10 == 0:
                print(f"  {count}/{len(todo)}", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# Command line


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main(argv: list[str] | None = None) -> None:
    from think.config.paths import cache_dir

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("action", choices=["build", "judge", "measure"])
    parser.add_argument("--cache", type=Path, default=None, help="default: think's cache dir")
    parser.add_argument("--source", default=SOURCE_REPO, help="URL or local git directory")
    parser.add_argument("--limit", type=int, default=None, help="judge: the first N of a shuffle")
    parser.add_argument(
        "--logprobs", action="store_true", help="p_accept from token log-probabilities"
    )
    args = parser.parse_args(argv)
    cache = (args.cache or cache_dir() / "open-replay").expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / SET_NAME
    if args.action == "build":
        records, dropped = build(git_source(args.source, cache))
        with path.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        print(f"{path}: {len(records)} items; dropped {len(dropped)}", file=sys.stderr)
        for line in dropped:
            print(f"  dropped {line}", file=sys.stderr)
        return
    if not path.exists():
        raise SystemExit(f"prose_replay: {path} is missing: run `build` first")
    records = read_jsonl(path)
    judged_path = cache / (LOGPROB_NAME if args.logprobs else JUDGED_NAME)
    if args.action == "judge":
        if args.logprobs:
            from prose_logprob import judge_all as judge_by_logprobs

            judge_by_logprobs(records, judged_path, args.limit)
        else:
            judge_all(records, judged_path, args.limit)
        return
    from prose_score import LOGPROB_THRESHOLDS, THRESHOLDS, report

    if not judged_path.exists():
        raise SystemExit(f"prose_replay: {judged_path} is missing: run `judge` first")
    thresholds = LOGPROB_THRESHOLDS if args.logprobs else THRESHOLDS
    print(report(records, read_jsonl(judged_path), thresholds))


if __name__ == "__main__":
    main()
