"""The cascade's defaults on other recorded sets, against the naive policy; answer extraction.

Issue 3: the defaults must be general rules, not fitted to GSM8K. On every recorded set the
default cascade must cost no more than the naive policy (escalate unless the first 3 cheap
answers agree) and lose at most 2 points of accuracy to it. For each replay file in DIR
(default: $THINK_EXTRA_REPLAY_DIR or /tmp/replay-extra, built by build_replay_sets.py) and
../shared/replay/gsm8k.jsonl this prints:

1. ``think eval`` (single-cheap, single-strong, vote, default cascade) and the naive policy,
   with whether the criterion holds;
2. accuracy and cost of several agreement policies on every set;
3. per model and prompt style: the share of answers with no extractable final answer, and
   the accuracy of what was extracted (think's own extractor against the gold answer).

Run from the repository root: ``.venv/bin/python benchmarks/replay_sets.py [DIR]``.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from pathlib import Path

from replay_eval import DEFAULT_SET, evaluate

from think.strategies.answers import extract_answer, parse_answer_format, same_answer

NAIVE = {"THINK_CASCADE_INITIAL": "3", "THINK_CASCADE_MAX_SAMPLES": "3", "THINK_AGREEMENT": "1.0"}
POLICIES: dict[str, tuple[int, int, float] | None] = {  # (initial, max samples, agreement)
    "first 2 agree, then 3 of 5 (default)": None,
    "3 of 4, first 2": (2, 4, 0.75),
    "3 of 3, first 3 (naive)": (3, 3, 1.0),
    "3 of 3, first 2": (2, 3, 1.0),
    "2 of 2": (2, 2, 1.0),
    "4 of 4, first 2": (2, 4, 1.0),
}
ACCURACY_SLACK = 0.02


def policy_env(initial: int, maximum: int, agreement: float) -> dict[str, str]:
    return {
        "THINK_CASCADE_INITIAL": str(initial),
        "THINK_CASCADE_MAX_SAMPLES": str(maximum),
        "THINK_AGREEMENT": str(agreement),
    }


def holds(cascade: dict[str, float], naive: dict[str, float]) -> bool:
    """The issue's criterion: no dearer than the naive policy, at most 2 points less accurate."""
    return (
        cascade["mean_cost_usd"] <= naive["mean_cost_usd"]
        and cascade["accuracy"] >= naive["accuracy"] - ACCURACY_SLACK
    )


def row(name: str, values: dict[str, float]) -> str:
    return (
        f"{name:<22} {values['accuracy']:>8.2%} {values['cost_vs_strong']:>9.1%} "
        f"{values['escalation_rate']:>10.1%}"
    )


def strategies_table(name: str, path: Path) -> None:
    rows = evaluate(path, {})
    naive = evaluate(path, NAIVE)["cascade"]
    count = sum(1 for line in path.open(encoding="utf-8") if line.strip())
    print(f"{name} ({count} questions)")
    print(f"{'strategy':<22} {'accuracy':>8} {'vs strong':>9} {'escalated':>10}")
    for strategy, values in rows.items():
        print(row(strategy if strategy != "cascade" else "cascade (default)", values))
    print(row("naive 3-of-3", naive))
    verdict = "holds" if holds(rows["cascade"], naive) else "FAILS"
    print(f"criterion (cost <= naive, accuracy >= naive - 2 points): {verdict}\n")


def policies_table(sets: dict[str, Path]) -> None:
    print("policy".ljust(38) + "".join(f"{name:>18}" for name in sets))
    print(" " * 38 + "".join(f"{'acc / vs strong':>18}" for _ in sets))
    for label, policy in POLICIES.items():
        cells = []
        for path in sets.values():
            values = evaluate(path, policy_env(*policy) if policy else {})["cascade"]
            cells.append(f"{values['accuracy']:.1%} / {values['cost_vs_strong']:.1%}")
        print(label.ljust(38) + "".join(f"{cell:>18}" for cell in cells))
    print()


def extraction_table(name: str, path: Path) -> None:
    """Per model and style: answers with no extractable final answer, and accuracy."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in path.open(encoding="utf-8"):
        if not line.strip():
            continue
        item = json.loads(line)
        kind, options = item["answer_kind"], item.get("options") or None
        fmt = parse_answer_format(kind)
        for model, responses in item["responses"].items():
            for response in responses:
                found = extract_answer(response["text"], fmt, options=options)
                tally = counts[model, response["style"]]
                tally[0] += 1
                tally[1] += found is None
                tally[2] += same_answer(found, item["gold"], kind, options=options)
    print(f"{name}: {'model':<14} {'style':<9} {'n':>5} {'no answer':>10} {'accuracy':>9}")
    for (model, style), (total, missing, correct) in counts.items():
        print(
            f"{'':{len(name) + 2}}{model:<14} {style:<9} {total:>5} "
            f"{missing / total:>10.1%} {correct / total:>9.1%}"
        )
    print()


def main() -> None:
    default_dir = os.environ.get("THINK_EXTRA_REPLAY_DIR", "/tmp/replay-extra")
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else default_dir)
    sets = {path.stem: path for path in sorted(folder.glob("*.jsonl"))}
    if DEFAULT_SET.exists():
        sets = {"gsm8k": DEFAULT_SET, **sets}
    if not sets:
        raise SystemExit(f"no replay sets in {folder} (build them with build_replay_sets.py)")
    for name, path in sets.items():
        strategies_table(name, path)
    policies_table(sets)
    for name, path in sets.items():
        extraction_table(name, path)


if __name__ == "__main__":
    main()
