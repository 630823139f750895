"""How the cascade's ``auto`` answer shape classifies recorded answers.

Every GSM8K question has a short (numeric) answer, so every recorded answer *should* be
classified ``short``: the share classified ``open`` is the rate at which ``--answer-format
auto`` would send a short-answer question down the judge's path instead of the vote (no
labels are used: the classifier sees only the answer text). Prints one row per model.
Run from the repository root: ``.venv/bin/python benchmarks/answer_shapes.py [FILE]``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from think.strategies.answers import answer_shape

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = ROOT.parent / "shared" / "replay" / "gsm8k.jsonl"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SET
    shapes: dict[str, Counter[str]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            for model, answers in (record.get("responses") or {}).items():
                for answer in answers:
                    shapes.setdefault(model, Counter())[answer_shape(answer["text"])] += 1
    print(f"{'model':<16} {'answers':>8} {'short':>7} {'open':>7} {'open %':>7}")
    for model, counts in sorted(shapes.items()):
        total = sum(counts.values())
        share = counts["open"] / total if total else 0.0
        print(f"{model:<16} {total:>8} {counts['short']:>7} {counts['open']:>7} {share:>7.1%}")


if __name__ == "__main__":
    main()
