"""Is a second cheap sample worth it on code? The visible-tests gate against "second cheap
sample + consistency" on the HumanEval replay set (``open_replay.py build`` first).

Per task, cheap answers A (run k) and B (run k+1, wrapping at 10), strong answer run k:

- visible: keep A when it passes the prompt's examples (one cheap sample);
- agree: keep A when A and B give the same outputs on the examples' calls (no expected values
  used: a label-free consistency check; no examples, nothing to run: escalate); two samples;
- visible + agree: keep A when it passes the examples and B agrees with it on their calls (B
  is drawn only when A passes).

Outputs are the ``repr`` of each call's value (or of the exception it raised), run like every
answer here: a fresh isolated interpreter, a temporary directory, a timeout. Costs: recorded
tokens at think's prices, relative to gpt-4 alone on the whole set.

``.venv/bin/python benchmarks/open_consistency.py [--cache DIR] [--runs N]``
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from open_replay import CHEAP, SET_NAME, STRONG, answer_cost, judge, prices
from visible_examples import Example, visible_examples

from think.evaluate.code_score import answer_code, run_python
from think.evaluate.stats import wilson_interval

OUTPUTS = """
import sys
for _call in {calls!r}:
    try:
        _value = repr(eval(_call))
    except BaseException as _exc:
        _value = 'raise ' + type(_exc).__name__
    sys.stdout.write(_value + '\\n')
"""
GATES = ("visible", "agree", "visible + agree")


def outputs(code: str, examples: list[Example]) -> str | None:
    """What ``code`` gives on the examples' calls (None: it did not run to the end)."""
    done = run_python(f"{code}\n\n{OUTPUTS.format(calls=[e.call for e in examples])}")
    return done.output if done.passed else None


def answers(record: dict[str, Any], runs: int) -> dict[str, Any]:
    """Per cheap run: (hidden pass, visible pass, outputs); per strong run: hidden pass."""
    examples = visible_examples(record["question"], record["entry_point"])
    cheap = []
    for response in record["responses"][CHEAP][: min(runs + 1, 10)]:
        hidden, visible = judge(record, response, examples)
        code = f"{record['question']}\n{answer_code(response['text'])}"
        cheap.append((hidden, visible, outputs(code, examples) if examples else None))
    strong = [judge(record, r, examples)[0] for r in record["responses"][STRONG][:runs]]
    return {"examples": bool(examples), "cheap": cheap, "strong": strong}


def main() -> None:
    from think.config.paths import cache_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    cache = (args.cache or cache_dir() / "open-replay").expanduser()
    with (cache / SET_NAME).open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    price = prices()
    with ThreadPoolExecutor(args.workers) as pool:
        judged = list(pool.map(lambda r: answers(r, args.runs), records))
    for k in range(args.runs):
        b = (k + 1) % 10
        rows = {"gpt-3.5-turbo alone": [0, Decimal(0)], "gpt-4 alone": [0, Decimal(0)]}
        rows |= {gate: [0, Decimal(0)] for gate in GATES}
        same = 0
        for record, found in zip(records, judged, strict=True):
            cost_a, cost_b, cost_s = (
                answer_cost(price[m], record, record["responses"][m][i]["usage"])
                for m, i in ((CHEAP, k), (CHEAP, b), (STRONG, k))
            )
            (hidden_a, visible_a, out_a), (_, _, out_b) = found["cheap"][k], found["cheap"][b]
            agree = found["examples"] and out_a is not None and out_a == out_b
            same += agree
            strong = found["strong"][k]
            rows["gpt-3.5-turbo alone"][0] += hidden_a
            rows["gpt-3.5-turbo alone"][1] += cost_a
            rows["gpt-4 alone"][0] += strong
            rows["gpt-4 alone"][1] += cost_s
            for gate, keep, cost in (
                ("visible", visible_a, cost_a),
                ("agree", agree, cost_a + (cost_b if found["examples"] else 0)),
                ("visible + agree", visible_a and agree, cost_a + (cost_b if visible_a else 0)),
            ):
                rows[gate][0] += hidden_a if keep else strong
                rows[gate][1] += cost + (0 if keep else cost_s)
        n, strong_cost = len(records), rows["gpt-4 alone"][1]
        print(f"\ncheap runs {k + 1} and {b + 1}, strong run {k + 1}: A and B agree on {same}")
        for name, (correct, cost) in rows.items():
            low, high = wilson_interval(int(correct), n)
            print(
                f"{name:<22} {correct / n:6.1%} ({low:.1%}-{high:.1%})  "
                f"vs strong {float(cost / strong_cost):6.1%}"
            )


if __name__ == "__main__":
    main()
