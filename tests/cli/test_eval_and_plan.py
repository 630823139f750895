"""``think eval`` on replayed answers, and ``--dry-run`` plans."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAIServer
from tests.paths import GSM8K
from think.cli.app import run


def usage(cost: float) -> dict[str, float]:
    return {"input_tokens": 50, "output_tokens": 20, "cost_usd": cost}


def record(number: int, gold: str, cheap: list[str], strong: str) -> dict[str, object]:
    return {
        "id": f"t/{number}",
        "question": f"Question number {number}: what is it?",
        "gold": gold,
        "answer_kind": "number",
        "responses": {
            "small": [
                {"style": "COT", "text": f"The answer is {a}.", "usage": usage(0.001)}
                for a in cheap
            ],
            "big": [{"style": "COT", "text": f"The answer is {strong}.", "usage": usage(0.01)}],
        },
    }


@pytest.fixture
def dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "set.jsonl"
    rows = [
        record(1, "4", ["4", "4", "4", "4"], "4"),  # cheap agrees and is right
        record(2, "7", ["1", "2", "3", "7"], "7"),  # cheap disagrees: escalate, strong right
        record(3, "9", ["8", "8", "8", "8"], "9"),  # cheap agrees but is wrong
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    return path


def eval_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    code = run(["eval", *args, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    document: dict[str, object] = json.loads(out.out)
    return document


def test_eval_reports_each_strategy(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = eval_json(capsys, str(dataset), "--cheap", "replay:small", "--strong", "replay:big")
    assert document["n"] == 3
    rows = {row["strategy"]: row for row in document["strategies"]}  # type: ignore[attr-defined]
    assert list(rows) == ["single-cheap", "single-strong", "vote", "cascade"]
    assert rows["single-cheap"]["accuracy"] == pytest.approx(1 / 3, abs=1e-3)
    assert rows["single-strong"]["accuracy"] == 1.0
    assert rows["single-strong"]["cost_vs_strong"] == 1.0
    assert rows["cascade"]["accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    assert rows["cascade"]["escalation_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert rows["single-cheap"]["mean_cost_usd"] == pytest.approx(0.001)
    for row in rows.values():
        assert set(row) >= {"accuracy", "mean_cost_usd", "escalation_rate", "cost_vs_strong"}


def test_eval_results_are_identical_for_identical_inputs(
    dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = (str(dataset), "--cheap", "replay:small", "--strong", "replay:big")
    assert eval_json(capsys, *args) == eval_json(capsys, *args)


def test_eval_table_and_bad_dataset(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["eval", str(dataset), "--cheap", "replay:small", "--strong", "replay:big"]) == 0
    assert "cascade" in capsys.readouterr().out
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    assert run(["eval", str(broken), "--cheap", "replay:small", "--strong", "replay:big"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("think: error:")
    assert len(err.strip().splitlines()) == 1


def gsm8k_rows(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, float]]:
    document = eval_json(
        capsys, str(GSM8K), "--cheap", "replay:gpt-3.5-turbo", "--strong", "replay:gpt-4"
    )
    assert document["n"] == 1319
    return {row["strategy"]: row for row in document["strategies"]}  # type: ignore[attr-defined]


@pytest.mark.skipif(not GSM8K.exists(), reason="../shared/replay/gsm8k.jsonl is absent")
def test_default_cascade_on_gsm8k_costs_under_half_and_beats_the_naive_policy(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    rows = gsm8k_rows(capsys)
    cascade = rows["cascade"]
    # The naive policy: escalate unless 3 cheap answers agree.
    monkeypatch.setenv("THINK_CASCADE_INITIAL", "3")
    monkeypatch.setenv("THINK_CASCADE_MAX_SAMPLES", "3")
    monkeypatch.setenv("THINK_AGREEMENT", "1.0")
    monkeypatch.setenv("THINK_EVAL_DIR", str(tmp_path / "naive"))  # never the default's results
    naive = gsm8k_rows(capsys)["cascade"]
    assert cascade["cost_vs_strong"] <= 0.5
    assert cascade["mean_cost_usd"] <= naive["mean_cost_usd"]
    assert cascade["accuracy"] >= naive["accuracy"] - 0.02
    assert cascade["accuracy"] > rows["single-cheap"]["accuracy"] + 0.1


@pytest.mark.skipif(not GSM8K.exists(), reason="../shared/replay/gsm8k.jsonl is absent")
def test_default_cascade_on_gsm8k_matches_the_strong_model_at_half_its_cost(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    rows = gsm8k_rows(capsys)
    assert rows["cascade"]["accuracy"] >= rows["single-strong"]["accuracy"] - 0.005
    assert rows["cascade"]["cost_vs_strong"] <= 0.5


def test_dry_run_prices_the_plan_and_sends_nothing(
    fake_openai: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dry-run-0000")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    code = run(
        [
            "--dry-run",
            "--json",
            "--max-cost",
            "0.05",
            "--strategy",
            "cascade",
            "--cheap",
            "openai:gpt-4o-mini",
            "--strong",
            "openai:o4-mini",
            "What is 2+2?",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    plan = json.loads(out.out)
    # auto: the answer may be open, and then the judge's 3 verdicts are in the plan
    assert [s["stage"] for s in plan["steps"]] == ["cheap", "verify", "escalate"]
    assert plan["steps"][0]["max_calls"] == 5
    assert plan["steps"][1]["max_calls"] == 3
    assert plan["steps"][1]["model"] == "openai:gpt-4o-mini"
    assert plan["steps"][0]["expected_calls"] == pytest.approx(2.7)  # pair + a third
    assert 0 < plan["expected_usd"] < plan["worst_usd"]
    assert plan["worst_fits_cap"] is True
    assert fake_openai.requests == []
