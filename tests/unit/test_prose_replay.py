"""benchmarks/prose_replay.py (builder) and benchmarks/prose_score.py (scorer) on tiny inline
fixtures: no network, no model. The labels score; the gate sees only ``p_accept``."""

from __future__ import annotations

import importlib
import json
import subprocess
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from tests.paths import REPO_ROOT


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, ModuleType]:
    monkeypatch.syspath_prepend(str(REPO_ROOT / "benchmarks"))
    return importlib.import_module("prose_replay"), importlib.import_module("prose_score")


def outputs(model: str, texts: list[str]) -> list[dict[str, str]]:
    return [
        {"dataset": "vicuna", "instruction": f"Task {n}", "output": t, "generator": model}
        for n, t in enumerate(texts)
    ]


def annotations(preferences: list[object]) -> list[dict[str, object]]:
    return [{"instruction": f"Task {n}", "preference": p} for n, p in enumerate(preferences)]


def test_preferences_become_qualities_as_alpacaeval_counts_them(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    replay, _ = bench
    found = [replay.preference_quality(p) for p in (2, "2.0", 1, "1.0", 1.5, 0, None, "None")]
    assert found == [1.0, 1.0, 0.0, 0.0, 0.5, 0.5, None, None]


def test_assemble_pairs_answers_and_drops_an_unlabelled_item(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    replay, _ = bench
    cheap, strong = replay.CHEAP, replay.STRONG
    records, dropped = replay.assemble(
        {
            cheap: outputs("gpt-3.5-turbo-0301", ["short", "cheap two", "cheap three"]),
            strong: list(reversed(outputs("gpt4", ["a longer answer", "strong two", "x"]))),
        },
        {
            (cheap, "davinci003"): annotations([2, 1, "2.0"]),
            (cheap, "gpt4turbo"): annotations([1, 1, 1]),
            (strong, "davinci003"): annotations([2, 2, None]),
            (strong, "gpt4turbo"): annotations([2, 1.5, 1]),
        },
    )
    assert [r["id"] for r in records] == ["alpacaeval-0", "alpacaeval-1"]
    assert len(dropped) == 1
    assert dropped[0].startswith("2:")
    first = records[1]["responses"]
    assert first[cheap]["text"] == "cheap two"
    assert first[strong]["text"] == "strong two"
    assert first[cheap]["labels"] == {"davinci003": 0.0, "gpt4turbo": 0.0}
    assert first[strong]["labels"] == {"davinci003": 1.0, "gpt4turbo": 0.5}
    usage = records[0]["responses"]
    assert usage[cheap]["usage"]["output_tokens"] == 1  # "short", counted by tiktoken
    assert usage[strong]["usage"]["output_tokens"] > 1
    assert usage[cheap]["usage"]["input_tokens"] == usage[strong]["usage"]["input_tokens"] > 5


def item(module: ModuleType, number: int, cheap: float, strong: float, p: float | None) -> object:
    return module.Item(number, cheap, strong, Decimal(1), Decimal(10), Decimal("0.5"), p)


def test_the_gate_keeps_cheap_answers_the_judge_passes(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    _, score = bench
    items = [
        item(score, 0, 1.0, 1.0, 1.0),  # a good cheap answer the judge passes
        item(score, 1, 0.0, 1.0, 1 / 3),  # a bad one it fails at 0.66
        item(score, 2, 0.0, 1.0, None),  # no verdict: never accepted
        item(score, 3, 1.0, 0.0, 2 / 3),
    ]
    rows = {r.name: r for r in score.score(items)}
    cheap, strong = rows["gpt-3.5-turbo alone"], rows["gpt-4 alone"]
    assert (cheap.mean, cheap.cost) == (0.5, Decimal(4))
    assert (strong.mean, strong.cost) == (0.75, Decimal(40))
    always = rows["always escalate (cheap+judge+strong)"]
    assert (always.mean, always.cost, always.escalated) == (0.75, Decimal(46), 4)
    gate = rows["judge gate, threshold 0.66"]
    assert gate.qualities == (1.0, 1.0, 1.0, 1.0)
    assert (gate.cost, gate.escalated) == (Decimal(26), 2)
    assert rows["judge gate, threshold 0.00"].escalated == 1  # only the missing verdict
    oracle = rows["oracle gate (labels; ceiling)"]
    assert (oracle.mean, oracle.cost) == (1.0, Decimal(24))
    low, high = gate.interval()
    assert low == high == 1.0
    # 0.00 and 0.33 meet the target (75% >= 75% - 2 points, 16 <= 60% of 40): the cheaper first.
    assert score.choose_threshold(items) == 0.0
    # Neither 0.66 (26 > 24) nor 1.00 fits the cost: the better quality is chosen.
    assert score.choose_threshold(items, (0.66, 1.0)) == 0.66
    assert score.auroc(items) == 1.0
    table = score.table(score.score(items))
    assert "judge gate, threshold 0.66" in table
    assert "65.0%" in table


def test_items_of_scores_only_judged_records_at_think_prices(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    replay, score = bench
    usage = {"input_tokens": 1000, "output_tokens": 1000}
    record = {
        "id": "alpacaeval-7",
        "number": 7,
        "question": "Task 7",
        "responses": {
            replay.CHEAP: {"text": "a", "labels": {"davinci003": 1.0}, "usage": usage},
            replay.STRONG: {"text": "b", "labels": {"davinci003": 0.5}, "usage": usage},
        },
    }
    judged = [{"id": "alpacaeval-7", "p_accept": 2 / 3, "error": None, "judge_usage": usage}]
    from open_replay import prices

    [found] = score.items_of([record, {**record, "id": "other"}], judged, prices())
    assert (found.cheap, found.strong, found.p_accept) == (1.0, 0.5, 2 / 3)
    assert found.judge_cost == found.cheap_cost < found.strong_cost


def test_build_reads_a_local_git_directory(
    bench: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    replay, _ = bench
    repo = tmp_path / "alpaca_eval"
    for model, folder in replay.RESULT_DIRS.items():
        base = repo / "results" / folder
        base.mkdir(parents=True)
        (base / "model_outputs.json").write_text(json.dumps(outputs(folder, [f"{model} says"])))
        for annotator in replay.LABELS.values():
            (base / annotator).mkdir()
            (base / annotator / "annotations.json").write_text(json.dumps(annotations([2])))
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fixture"], check=True)
    cache = tmp_path / "cache"
    replay.main(["build", "--cache", str(cache), "--source", str(repo)])
    [record] = [json.loads(line) for line in (cache / replay.SET_NAME).read_text().splitlines()]
    assert record["responses"][replay.STRONG]["text"] == "gpt-4 says"
    with pytest.raises(SystemExit, match="run `judge` first"):
        replay.main(["measure", "--cache", str(cache)])


def test_report_chooses_on_the_even_half_and_reports_the_odd_half(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    replay, score = bench
    cheap, strong = replay.CHEAP, replay.STRONG
    n = 4
    records, _ = replay.assemble(
        {
            cheap: outputs("gpt-3.5-turbo-0301", [f"cheap {k}" for k in range(n)]),
            strong: outputs("gpt4", [f"a much longer strong answer {k}" for k in range(n)]),
        },
        {
            (cheap, "davinci003"): annotations([2, 1, 2, 1]),
            (cheap, "gpt4turbo"): annotations([1] * n),
            (strong, "davinci003"): annotations([2] * n),
            (strong, "gpt4turbo"): annotations([2] * n),
        },
    )
    usage = {"input_tokens": 10, "output_tokens": 2}
    judged = [
        {"id": r["id"], "p_accept": p, "error": None, "judge_usage": usage}
        for r, p in zip(records, (1.0, 1 / 3, 2 / 3, 0.0), strict=True)
    ]
    text = score.report(records, judged)
    assert "every item (4, no judge)" in text
    assert "tuning half (even numbers, 2 items)" in text
    assert "chosen on the tuning half: threshold" in text
    assert "held-out half (odd numbers, 2 items)" in text
    assert "AUROC of p_accept for the cheap answers GPT-4 preferred: 1.000" in text
