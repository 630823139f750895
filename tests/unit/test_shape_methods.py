"""benchmarks/shape_methods.py's labelled prompts and its table, on inline fixtures (no model)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from shape_methods import prompts, report


def test_shapes_come_from_the_categories_fixed_in_advance(tmp_path: Path) -> None:
    gsm8k = tmp_path / "gsm8k.jsonl"
    gsm8k.write_text(
        "".join(json.dumps({"question": f"q{n}?"}) + "\n" for n in range(34)), encoding="utf-8"
    )
    mtbench = tmp_path / "question.jsonl"
    records = [
        {"question_id": 81, "category": "writing", "turns": ["Write a blog post.", "More."]},
        {"question_id": 103, "category": "reasoning", "turns": ["Why?", "And?"]},
        {"question_id": 104, "category": "reasoning", "turns": ["How many brothers?", "?"]},
        {"question_id": 111, "category": "math", "turns": ["The area?", "?"]},
        {"question_id": 131, "category": "extraction", "turns": ["Extract.", "?"]},
    ]
    mtbench.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    found = [(p.source, p.text, p.shape) for p in prompts(mtbench, gsm8k)]
    assert found == [
        ("gsm8k", "q0?", "short"),
        ("gsm8k", "q33?", "short"),
        ("mt-bench writing", "Write a blog post.", "open"),
        ("mt-bench reasoning", "How many brothers?", "short"),
        ("mt-bench math", "The area?", "short"),
    ]


def test_the_table_counts_each_kind_of_mistake(capsys: pytest.CaptureFixture[str]) -> None:
    row = {"answer_tokens": 100, "classify_tokens": 40, "verdict": "OPEN"}
    rows = [
        {**row, "source": "gsm8k", "shape": "short", "instruction": "short", "classified": "open"},
        {**row, "source": "gsm8k", "shape": "short", "instruction": "open", "classified": "open"},
        {**row, "source": "w", "shape": "open", "instruction": "open", "classified": "short"},
    ]
    report(rows)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert lines["instruction"][1:2] == ["66.7%"]
    assert lines["instruction"][-2:] == ["1", "0"]
    assert lines["classified"][1:2] == ["0.0%"]
    assert lines["classified"][-2:] == ["2", "1"]
    assert "classify first: 120 more tokens, 40% on top of the answers' 300" in out
