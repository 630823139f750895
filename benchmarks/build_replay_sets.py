"""Build replay sets (../shared/replay/README.md format) from Faithful-COT's recorded outputs.

Faithful-COT (github.com/veronica320/Faithful-COT, MIT) publishes, per dataset, the questions
(``data/<SET>/test.jsonl``) and each model's answers under several prompt styles
(``output_dir/<SET>/test/<model>_<style>/predictions.jsonl``: ``id``, ``answer`` — the result
its pipeline extracted or, for program styles, obtained by running the program — and
``completion``, the text the model wrote). Given a directory laid out like that repository
(a checkout, or just those files), this writes one replay file per dataset:

- the cheap model ``gpt-3.5-turbo`` with styles COT, NL+SL, noNL, LtM, standard and the strong
  model ``gpt-4`` with COT, NL+SL, noNL, LtM, in that order, as far as the files are present;
- only the questions that every present predictions file answers (so a downloaded prefix of
  each file gives a prefix of the set), in id order, optionally the first ``--limit``;
- program-style answers (NL+SL, noNL: a completion with an ``answer = ...`` line) get the line
  ``The answer is <recorded result>.`` appended, as in gsm8k.jsonl, unless the pipeline recorded
  no result (empty or ``[invalid]``); a program-style completion written as prose is kept as is;
- usage estimated with cl100k_base (input = question tokens + 40, output = text tokens) and
  priced at gpt-3.5-turbo $1.50/$2.00 and gpt-4 $30/$60 per million tokens.

Run from the repository root:
``.venv/bin/python benchmarks/build_replay_sets.py FAITHFUL_COT_DIR OUT_DIR [--sets date aqua]``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from think.strategies.normalize import number_key, number_value
from think.tokens import count_text

INSTRUCTION_TOKENS = 40  # a zero-shot instruction around the question, as in gsm8k.jsonl
PROGRAM_STYLES = frozenset({"NL+SL", "noNL"})
NO_RESULT = frozenset({"", "[invalid]"})
PROGRAM_RE = re.compile(r"^\s*answer\s*=", re.MULTILINE)


@dataclass(frozen=True)
class Model:
    name: str  # as written in the replay file
    prefix: str  # Faithful-COT's directory prefix
    styles: tuple[str, ...]
    input_per_mtok: Decimal
    output_per_mtok: Decimal


MODELS = (
    Model(
        "gpt-3.5-turbo",
        "gpt-3.5-turbo",
        ("COT", "NL+SL", "noNL", "LtM", "standard"),
        Decimal("1.50"),
        Decimal("2.00"),
    ),
    Model("gpt-4", "gpt4", ("COT", "NL+SL", "noNL", "LtM"), Decimal(30), Decimal(60)),
)


@dataclass(frozen=True)
class DataSet:
    name: str  # output file stem
    source: str  # Faithful-COT's dataset directory
    kind: str  # answer_kind


SETS = {
    s.name: s
    for s in (
        DataSet("svamp", "SVAMP", "number"),
        DataSet("multiarith", "MultiArith", "number"),
        DataSet("asdiv", "ASDiv", "number"),
        DataSet("gsm8k", "GSM8K", "number"),
        DataSet("date", "date", "date"),
        DataSet("aqua", "AQUA", "choice"),
    )
}


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def gold_answer(raw: object, kind: str) -> str:
    """The reference answer, normalised: ``#### 1,234`` -> ``1234``; dates and letters as is."""
    text = str(raw).split("####")[-1].strip()
    if kind == "number":
        value = number_value(text)
        return number_key(value) if value is not None else text
    return text


def options_of(item: dict[str, Any]) -> list[str]:
    """AQuA's options without their letters: ``A)$61`` -> ``$61``."""
    return [re.sub(r"^\s*[A-E]\)\s*", "", str(o)) for o in item.get("options") or []]


def response_text(style: str, prediction: dict[str, Any]) -> str:
    text = str(prediction.get("completion") or "")
    result = str(prediction.get("answer") if prediction.get("answer") is not None else "")
    ran = style in PROGRAM_STYLES and PROGRAM_RE.search(text) is not None
    if ran and result.strip() not in NO_RESULT:
        text = f"{text.rstrip()}\n\nThe answer is {result.strip()}."
    return text


def usage(question: str, text: str, model: Model) -> dict[str, Any]:
    input_tokens = count_text(question, "openai", model.name).tokens + INSTRUCTION_TOKENS
    output_tokens = count_text(text, "openai", model.name).tokens
    cost = (input_tokens * model.input_per_mtok + output_tokens * model.output_per_mtok) / 10**6
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cost_usd": float(round(cost, 8)),
    }


def predictions(root: Path, data: DataSet) -> dict[tuple[str, str], dict[Any, dict[str, Any]]]:
    """``(model, style) -> {question id: prediction}`` for every predictions file present."""
    found = {}
    for model in MODELS:
        for style in model.styles:
            path = root / "output_dir" / data.source / "test" / f"{model.prefix}_{style}"
            path = path / "predictions.jsonl"
            if path.exists():
                found[model.name, style] = {p["id"]: p for p in read_jsonl(path)}
    return found


def build(root: Path, data: DataSet, limit: int | None = None) -> list[dict[str, Any]]:
    questions = list(read_jsonl(root / "data" / data.source / "test.jsonl"))
    recorded = predictions(root, data)
    if not recorded:
        raise SystemExit(f"no predictions for {data.source} under {root / 'output_dir'}")
    records = []
    for index, item in enumerate(questions):
        key = item.get("id", index)
        if not all(key in answers for answers in recorded.values()):
            continue
        question = str(item["question"])
        responses: dict[str, list[dict[str, Any]]] = {}
        for model in MODELS:
            for style in model.styles:
                if (model.name, style) not in recorded:
                    continue
                text = response_text(style, recorded[model.name, style][key])
                responses.setdefault(model.name, []).append(
                    {"style": style, "text": text, "usage": usage(question, text, model)}
                )
        record: dict[str, Any] = {
            "id": f"{data.name}/{key}",
            "question": question,
            "gold": gold_answer(item["answer"], data.kind),
            "answer_kind": data.kind,
        }
        if data.kind == "choice":
            record["options"] = options_of(item)
        record["responses"] = responses
        records.append(record)
        if limit is not None and len(records) >= limit:
            break
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="directory laid out like Faithful-COT")
    parser.add_argument("out", type=Path, help="where to write SET.jsonl")
    parser.add_argument("--sets", nargs="*", default=None, choices=sorted(SETS))
    parser.add_argument("--limit", type=int, default=None, help="first N questions per set")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    names = args.sets or [n for n, s in SETS.items() if (args.source / "data" / s.source).is_dir()]
    for name in names:
        records = build(args.source, SETS[name], args.limit)
        path = args.out / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        styles = {m: len(r) for m, r in records[0]["responses"].items()} if records else {}
        print(f"{path}: {len(records)} questions, answers per model {styles}", file=sys.stderr)


if __name__ == "__main__":
    main()
