"""An open-ended replay set (HumanEval, recorded gpt-3.5-turbo and gpt-4 code) and the cascade's
open-answer gate measured on it without looking at labels.

``build`` fetches, into a cache outside the repository (default: think's user cache dir,
``open-replay/``; ``--cache DIR`` to choose), two public git repositories and writes
``humaneval-open.jsonl`` there (and the same tasks as ``think eval`` code items,
``humaneval-eval.jsonl``: benchmarks/open_eval_set.py):

- the HumanEval tasks (prompt, entry point, hidden ``test``; OpenAI, MIT) from
  noahshinn/reflexion ``programming_runs/human-eval/data/HumanEval.jsonl.gz``;
- the recorded answers from jamesmurdza/humaneval-results (2023-07-18, temperature 0.2, ten runs
  per task and model; per model and task a Markdown page with the prompt's token count and each
  run's code, completion token count and recorded pass/fail). Reflexion's own gpt-3.5-turbo
  HumanEval run cannot serve: it keeps the code only of the answers that passed.

``measure`` replays run 1 (``--runs N``: runs 1..N, cheap run i paired with strong run i):
every answer's code is run against the hidden ``test`` in a subprocess (the label; compared with
the recorded result), and the gates see only the prompt and the answer: the visible-tests gate
runs the docstring's examples as asserts in a subprocess (a ``--verify-cmd`` a user could
write) and escalates when they fail or when the prompt has none; the syntax gate escalates when
the code does not parse or lacks the entry point. Costs: recorded token counts (the page's
prompt tokens, each run's completion tokens) at think's genai-prices rates; a local gate costs 0.

Run from the repository root:
``.venv/bin/python benchmarks/open_replay.py build|measure [--cache DIR] [--runs N]``.
Generated code is only ever executed in a subprocess, in a temporary directory, with a timeout.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from visible_examples import (
    Example,
    syntax_ok,
    visible_examples,
    visible_program,
)

from think.evaluate.code_score import answer_code, hidden_program, run_python
from think.evaluate.stats import wilson_interval

TASKS_REPO = "https://github.com/noahshinn/reflexion"
TASKS_PATH = "programming_runs/human-eval/data/HumanEval.jsonl.gz"
ANSWERS_REPO = "https://github.com/jamesmurdza/humaneval-results"
CHEAP, STRONG = "gpt-3.5-turbo", "gpt-4"
SET_NAME = "humaneval-open.jsonl"
EVAL_SET_NAME = "humaneval-eval.jsonl"


# --------------------------------------------------------------------------------------------
# Build: fetch into the cache, parse the recorded pages, write the replay file


def git_source(where: str, cache: Path) -> Path:
    """A local git directory for ``where`` (a path, or a URL cloned shallow into ``cache``)."""
    if Path(where).expanduser().exists():
        return Path(where).expanduser()
    target = cache / (where.rstrip("/").rsplit("/", 1)[-1] + ".git")
    if not target.exists():
        subprocess.run(["git", "clone", "--bare", "--depth", "1", where, str(target)], check=True)
    return target


def git_show(repo: Path, path: str) -> bytes:
    return subprocess.run(
        ["git", "-C", str(repo), "show", f"HEAD:{path}"], check=True, capture_output=True
    ).stdout


RUN_RE = re.compile(
    r"^### \S+ Run (?P<run>\d+)\n.*?^Completion tokens: (?P<tokens>\d+).*?"
    r"^Result: (?P<result>\w+)\n```[a-z]*\n(?P<text>.*?)\n```\s*(?=^### |\Z)",
    re.MULTILINE | re.DOTALL,
)


def parse_page(page: str) -> dict[str, Any]:
    """One results page: the prompt's token count, the instruction and every run."""
    tokens = re.search(r"^## Prompt\nTokens: (\d+)", page, re.MULTILINE)
    instruction = re.search(r"^## Prompt\n.*?\n```\n(.*?)\n## ", page, re.MULTILINE | re.DOTALL)
    runs = [
        {
            "run": int(m["run"]),
            "text": m["text"],
            "output_tokens": int(m["tokens"]),
            "recorded_pass": m["result"] == "Pass",
        }
        for m in RUN_RE.finditer(page)
    ]
    return {
        "input_tokens": int(tokens[1]) if tokens else None,
        "instruction": instruction[1].strip() if instruction else "",
        "runs": sorted(runs, key=lambda r: r["run"]),
    }


def build(tasks_repo: Path, answers_repo: Path) -> list[dict[str, Any]]:
    lines = gzip.decompress(git_show(tasks_repo, TASKS_PATH)).decode("utf-8").splitlines()
    records = []
    for task in (json.loads(line) for line in lines if line.strip()):
        number = task["task_id"].split("/")[1]
        responses = {}
        for model in (CHEAP, STRONG):
            page = parse_page(git_show(answers_repo, f"{model}/{number}.md").decode("utf-8"))
            responses[model] = [
                {
                    "style": f"run {r['run']}",
                    "text": r["text"],
                    "recorded_pass": r["recorded_pass"],
                    "usage": {
                        "input_tokens": page["input_tokens"],
                        "output_tokens": r["output_tokens"],
                    },
                }
                for r in page["runs"]
            ]
        records.append(
            {
                "id": task["task_id"],
                "question": task["prompt"],
                "instruction": page["instruction"],
                "answer_kind": "code",
                "entry_point": task["entry_point"],
                "test": task["test"],
                "canonical_solution": task["canonical_solution"],
                "responses": responses,
            }
        )
    return records


# --------------------------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True)
class Answer:
    passed: bool  # the label: hidden tests pass
    recorded_pass: bool
    cost: Decimal
    visible_pass: bool  # examples present and all pass (the gate's view)
    syntax_pass: bool


@dataclass(frozen=True)
class Item:
    cheap: Answer
    strong: Answer
    has_examples: bool


Gate = Callable[[Item], bool]  # True: keep the cheap answer
GATES: dict[str, Gate] = {
    "cascade, visible-tests gate": lambda i: i.cheap.visible_pass,
    "cascade, visible tests, keep if none": lambda i: i.cheap.visible_pass or not i.has_examples,
    "cascade, syntax-only gate": lambda i: i.cheap.syntax_pass,
    "oracle gate (uses labels; ceiling)": lambda i: i.cheap.passed,
}


@dataclass(frozen=True)
class Row:
    name: str
    correct: int
    n: int
    cost: Decimal
    escalated: int
    false_accepts: int = 0  # cheap answer kept although it fails the hidden tests
    false_rejects: int = 0  # cheap answer escalated although it passes them


def score(items: list[Item]) -> list[Row]:
    n = len(items)
    rows = [
        Row(f"{CHEAP} alone", sum(i.cheap.passed for i in items), n, sum_cost(items, "cheap"), 0),
        Row(
            f"{STRONG} alone", sum(i.strong.passed for i in items), n, sum_cost(items, "strong"), n
        ),
    ]
    for name, keep in GATES.items():
        kept = [keep(i) for i in items]
        rows.append(
            Row(
                name,
                sum(
                    i.cheap.passed if k else i.strong.passed
                    for i, k in zip(items, kept, strict=True)
                ),
                n,
                sum(
                    (
                        i.cheap.cost + (0 if k else i.strong.cost)
                        for i, k in zip(items, kept, strict=True)
                    ),
                    Decimal(0),
                ),
                kept.count(False),
                sum(k and not i.cheap.passed for i, k in zip(items, kept, strict=True)),
                sum(not k and i.cheap.passed for i, k in zip(items, kept, strict=True)),
            )
        )
    return rows


def sum_cost(items: list[Item], which: str) -> Decimal:
    return sum((getattr(i, which).cost for i in items), Decimal(0))


def table(rows: list[Row]) -> str:
    strong = rows[1].cost or Decimal(1)
    lines = [
        f"{'strategy':<38} {'accuracy':>8} {'95% CI':>15} {'vs strong':>9} {'escalated':>9} "
        f"{'false acc':>9} {'false rej':>9}"
    ]
    for r in rows:
        low, high = wilson_interval(r.correct, r.n)
        lines.append(
            f"{r.name:<38} {r.correct / r.n:>8.1%} {f'{low:.1%}-{high:.1%}':>15} "
            f"{float(r.cost / strong):>9.1%} {r.escalated / r.n:>9.1%} "
            f"{r.false_accepts:>9} {r.false_rejects:>9}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Measure


def prices() -> dict[str, Any]:
    from think.pricing import lookup_price

    found = {
        m: lookup_price("openai", m, price_provider="openai", overrides={}) for m in (CHEAP, STRONG)
    }
    missing = [m for m, p in found.items() if p is None]
    if missing:
        raise SystemExit(f"open_replay: no price for {', '.join(missing)}")
    return found


def answer_cost(price: Any, record: dict[str, Any], usage: dict[str, Any]) -> Decimal:
    from think.usage import Usage

    input_tokens = prompt_tokens(record, usage)
    return Decimal(
        price.cost(Usage(input_tokens=input_tokens, output_tokens=usage["output_tokens"]))
    )


def prompt_tokens(record: dict[str, Any], usage: dict[str, Any]) -> int:
    """The recorded prompt tokens; where none were recorded, the prompt as sent, counted."""
    from think.tokens import count_text

    if usage.get("input_tokens") is not None:
        return int(usage["input_tokens"])
    text = f"{record['question']}\n{record.get('instruction', '')}"
    return count_text(text, "openai", CHEAP).tokens


def judge(
    record: dict[str, Any], response: dict[str, Any], examples: list[Example]
) -> tuple[bool, bool]:
    """(hidden tests pass, visible examples present and pass) for one recorded answer: its
    code after the prompt, as HumanEval runs it (helpers the prompt defines stay defined)."""
    code = f"{record['question']}\n{answer_code(response['text'])}"
    hidden = run_python(hidden_program(code, record["test"], record["entry_point"])).passed
    visible = bool(examples) and run_python(visible_program(code, examples)).passed
    return hidden, visible


def measure(records: list[dict[str, Any]], runs: int, workers: int) -> None:
    price = prices()
    examples = {r["id"]: visible_examples(r["question"], r["entry_point"]) for r in records}
    jobs = [(r, m, k) for r in records for m in (CHEAP, STRONG) for k in range(runs)]
    shown = [r for r in records if examples[r["id"]]]
    with ThreadPoolExecutor(workers) as pool:
        verdicts = list(
            pool.map(
                lambda j: judge(j[0], j[0]["responses"][j[1]][j[2]], examples[j[0]["id"]]), jobs
            )
        )
        canonical = list(
            pool.map(
                lambda r: (
                    run_python(
                        visible_program(r["question"] + r["canonical_solution"], examples[r["id"]])
                    ).passed
                ),
                shown,
            )
        )
    judged = {(j[0]["id"], j[1], j[2]): v for j, v in zip(jobs, verdicts, strict=True)}
    wrong = [r["id"] for r, ok in zip(shown, canonical, strict=True) if not ok]
    print(
        f"{len(records)} tasks; {len(shown)} with visible examples "
        f"({sum(map(len, examples.values()))} examples); the canonical solution fails the "
        f"visible examples of {len(wrong)}: {', '.join(wrong) or '-'}"
    )
    print(
        f"prices (USD per million tokens in/out): {CHEAP} {price[CHEAP].input.base}/"
        f"{price[CHEAP].output.base}, {STRONG} {price[STRONG].input.base}/"
        f"{price[STRONG].output.base}"
    )

    def answer(record: dict[str, Any], model: str, k: int) -> Answer:
        response = record["responses"][model][k]
        hidden, visible = judged[record["id"], model, k]
        return Answer(
            hidden,
            response["recorded_pass"],
            answer_cost(price[model], record, response["usage"]),
            visible,
            syntax_ok(answer_code(response["text"]), record["entry_point"]),
        )

    per_run = [
        [Item(answer(r, CHEAP, k), answer(r, STRONG, k), bool(examples[r["id"]])) for r in records]
        for k in range(runs)
    ]
    for model, side in ((CHEAP, "cheap"), (STRONG, "strong")):
        found = [
            (r["id"], k + 1, getattr(i, side))
            for k, items in enumerate(per_run)
            for r, i in zip(records, items, strict=True)
        ]
        differ = [
            f"{task} run {k} (re-run {'pass' if a.passed else 'fail'})"
            for task, k, a in found
            if a.passed != a.recorded_pass
        ]
        print(
            f"{model}: the re-run hidden tests agree with the recorded result on "
            f"{len(found) - len(differ)} of {len(found)} answers; "
            f"differ: {'; '.join(differ) or '-'}"
        )
    print(f"\nrun 1 ({len(records)} tasks)\n{table(score(per_run[0]))}")
    if runs > 1:
        print(f"\nruns 1-{runs}, cheap run k paired with strong run k: mean (min-max) over runs")
        summary = [score(items) for items in per_run]
        for index, first in enumerate(summary[0]):
            accuracy = [rows[index].correct / rows[index].n for rows in summary]
            cost = [float(rows[index].cost / rows[1].cost) for rows in summary]
            print(
                f"{first.name:<38} accuracy {sum(accuracy) / runs:6.1%} "
                f"({min(accuracy):.1%}-{max(accuracy):.1%})  vs strong {sum(cost) / runs:6.1%}"
            )


def main(argv: list[str] | None = None) -> None:
    from think.config.paths import cache_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["build", "measure"])
    parser.add_argument("--cache", type=Path, default=None, help="default: think's cache dir")
    parser.add_argument("--tasks-repo", default=TASKS_REPO, help="URL or local git directory")
    parser.add_argument("--answers-repo", default=ANSWERS_REPO, help="URL or local git directory")
    parser.add_argument("--runs", type=int, default=1, help="replay runs 1..N (default 1)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    cache = (args.cache or cache_dir() / "open-replay").expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / SET_NAME
    if args.action == "build":
        records = build(git_source(args.tasks_repo, cache), git_source(args.answers_repo, cache))
        with path.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        print(f"{path}: {len(records)} tasks", file=sys.stderr)
        from open_eval_set import eval_records

        ready = cache / EVAL_SET_NAME
        with ready.open("w", encoding="utf-8") as handle:
            handle.writelines(
                json.dumps(r, ensure_ascii=False) + "\n" for r in eval_records(records)
            )
        print(f"{ready}: {len(records)} code items for think eval", file=sys.stderr)
        return
    if not path.exists():
        raise SystemExit(f"open_replay: {path} is missing: run `build` first")
    with path.open(encoding="utf-8") as handle:
        measure([json.loads(line) for line in handle if line.strip()], args.runs, args.workers)


if __name__ == "__main__":
    main()
