"""``think eval`` with a grid: statistics, frontier and fit, resuming, the evaluation-wide
budget, sampling, CSV and PNG output — on replayed answers."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cli.test_eval_and_plan import record
from think.cli.app import run
from think.evaluate.stats import fit_power_law, pareto_frontier, percentile, wilson_interval

MODELS = ("--cheap", "replay:small", "--strong", "replay:big")


def test_wilson_interval_matches_known_values() -> None:
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(50, 50)
    assert high == 1.0
    assert low > 0.9


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_interval_contains_the_estimate(correct: int, extra: int) -> None:
    n = correct + extra
    low, high = wilson_interval(correct, n)
    assert 0.0 <= low <= correct / n <= high <= 1.0


def test_percentile_interpolates() -> None:
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([5], 95) == 5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == pytest.approx(9.55)


def test_pareto_frontier_drops_dominated_points() -> None:
    points = [(1.0, 0.80), (2.0, 0.79), (3.0, 0.90), (3.0, 0.85), (10.0, 0.90), (12.0, 0.95)]
    assert pareto_frontier(points) == [0, 2, 5]


@given(st.floats(0.1, 0.9), st.floats(-0.5, 0.5))
def test_power_law_fit_recovers_exact_data(a: float, alpha: float) -> None:
    points = [(c, a * c**alpha) for c in (1.0, 2.0, 5.0, 20.0)]
    fit = fit_power_law(points)
    assert fit is not None
    assert fit.alpha == pytest.approx(alpha, abs=1e-9)
    assert fit.a == pytest.approx(a, rel=1e-9)
    assert fit.predict(3.0) == pytest.approx(a * 3.0**alpha)
    assert fit_power_law([(1.0, 0.5)]) is None


@pytest.fixture
def dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "set.jsonl"
    rows = []
    for n in range(1, 41):
        if n % 4 == 0:  # cheap disagrees: a cascade escalates and the strong model is right
            rows.append(record(n, "7", ["1", "2", "3", "7", "5"], "7"))
        elif n % 5 == 0:  # cheap agrees on a wrong answer
            rows.append(record(n, "9", ["8", "8", "8", "8", "8"], "9"))
        else:
            rows.append(record(n, "4", ["4", "4", "4", "4", "4"], "4"))
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    return path


def think(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(args))
    out = capsys.readouterr()
    return int(code), out.out, out.err


def grid_json(capsys: pytest.CaptureFixture[str], dataset: Path, *args: str) -> dict[str, object]:
    code, out, err = think(capsys, "eval", str(dataset), *MODELS, "--json", *args)
    assert code == 0, err
    document: dict[str, object] = json.loads(out)
    return document


def measured(document: dict[str, object]) -> list[dict[str, object]]:
    """The rows without latency (wall-clock time, the one thing a replay cannot repeat)."""
    return [
        {k: v for k, v in row.items() if not k.startswith("latency")}
        for row in document["strategies"]  # type: ignore[attr-defined]
    ]


def rows_of(document: dict[str, object]) -> dict[str, dict[str, object]]:
    return {row["strategy"]: row for row in document["strategies"]}  # type: ignore[attr-defined, index]


def test_default_grid_table_with_frontier_and_fit(
    dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = grid_json(capsys, dataset, "--grid", "default", "--fresh")
    rows = rows_of(document)
    assert set(rows) >= {
        "single-cheap",
        "cot-256",
        "cot-4096",
        "vote-1",
        "vote-10",
        "cascade-2of3",
        "cascade-3of4",
        "cascade-4of4",
        "refine-3",
        "single-strong",
        "strong-high",
    }
    assert rows["single-cheap"]["compute"] == 1.0
    assert rows["single-cheap"]["accuracy"] == pytest.approx(0.6)  # 24 of 40
    assert rows["single-strong"]["accuracy"] == 1.0
    assert rows["single-strong"]["cost_vs_strong"] == 1.0
    for row in rows.values():
        low, high = row["accuracy_ci95"]  # type: ignore[misc]
        assert low <= row["accuracy"] <= high  # type: ignore[operator]
        assert row["latency_p50_ms"] <= row["latency_p95_ms"]  # type: ignore[operator]
    frontier = document["frontier"]
    assert isinstance(frontier, list)
    assert frontier[0] == "single-cheap"
    assert all(rows[name]["frontier"] for name in frontier)
    costs = [rows[name]["mean_cost_usd"] for name in frontier]
    accuracies = [rows[name]["accuracy"] for name in frontier]
    assert costs == sorted(costs)  # type: ignore[type-var]
    assert accuracies == sorted(accuracies)  # type: ignore[type-var]
    fit = document["fit"]
    assert isinstance(fit, dict)
    assert fit["points"] == len(frontier)
    assert fit["alpha"] > 0
    # Identical replay inputs give identical results.
    again = grid_json(capsys, dataset, "--grid", "default", "--fresh")
    assert measured(again) == measured(document)


def test_table_chart_and_csv(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = think(capsys, "eval", str(dataset), *MODELS, "--grid", "default")
    assert code == 0
    assert "Pareto frontier" in out
    assert "α =" in out
    assert "per query (log)" in out  # the terminal chart
    code, out, _ = think(capsys, "eval", str(dataset), *MODELS, "--csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("strategy,technique,n,accuracy,ci95_low,ci95_high,mean_cost_usd")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "single-cheap",
        "single-strong",
        "vote",
        "cascade",
    ]


def test_interrupted_evaluation_resumes_with_identical_results(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.jsonl"
    full = grid_json(capsys, dataset, "--results", str(tmp_path / "other.jsonl"))
    grid_json(capsys, dataset, "--results", str(results), "--limit", "10")
    kept = results.read_text().splitlines()
    assert len(kept) == 40  # 10 questions x 4 settings
    with results.open("a") as handle:  # an interruption cut the last line short
        handle.write('{"setting": "vote", "item_')
    code, out, err = think(
        capsys, "eval", str(dataset), *MODELS, "--json", "--results", str(results)
    )
    assert code == 0
    assert "resuming: 40 results kept" in err
    assert measured(json.loads(out)) == measured(full)
    assert len([line for line in results.read_text().splitlines() if line.endswith("}")]) == 160


def test_evaluation_wide_budget_is_never_exceeded(
    dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Prices for the worst case each run reserves (the recorded costs are what is spent).
    monkeypatch.setenv(
        "THINK_PRICES",
        json.dumps(
            {
                "replay:small": {"input_mtok": 1, "output_mtok": 2},
                "replay:big": {"input_mtok": 10, "output_mtok": 20},
            }
        ),
    )
    results = tmp_path / "results.jsonl"
    document = grid_json(capsys, dataset, "--results", str(results), "--max-cost", "0.5")
    assert "--max-cost: the next run does not fit" in str(document["stopped"])
    spent = sum(json.loads(line)["cost_usd"] for line in results.read_text().splitlines())
    assert 0 < spent <= 0.5
    assert sum(row["n"] for row in document["strategies"]) < 160  # type: ignore[attr-defined]


def test_sample_is_a_seeded_subset(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = grid_json(capsys, dataset, "--sample", "10", "--seed", "3", "--fresh")
    two = grid_json(capsys, dataset, "--sample", "10", "--seed", "3", "--fresh")
    other = grid_json(capsys, dataset, "--sample", "10", "--seed", "4", "--fresh")
    assert one["n"] == 10
    assert measured(one) == measured(two)
    assert other["n"] == 10


def test_grid_file_and_its_errors(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(
        '[[setting]]\nname = "cheap"\nstrategy = "single"\nmodel = "cheap"\n'
        '[[setting]]\nname = "strict"\ntechnique = "cascade"\nstrategy = "cascade"\n'
        "agreement = 1.0\ncascade_max_samples = 3\n"
    )
    document = grid_json(capsys, dataset, "--grid", str(grid))
    assert [row["technique"] for row in document["strategies"]] == ["single", "cascade"]  # type: ignore[attr-defined, index]
    assert rows_of(document)["strict"]["escalation_rate"] == pytest.approx(0.25)
    for text, message in (
        ('[[setting]]\nname = "x"\nsamples = 0\n', "eval setting x"),
        ('[[setting]]\nstrategy = "vote"\n', "has no name"),
        ("not toml [", "cannot parse"),
    ):
        grid.write_text(text)
        code, out, err = think(capsys, "eval", str(dataset), *MODELS, "--grid", str(grid))
        assert code == 2
        assert out == ""
        assert message in err
        assert len(err.strip().splitlines()) == 1


def test_plot_writes_a_png(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "frontier.png"
    grid_json(capsys, dataset, "--grid", "default", "--plot", str(png))
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000
    code, _, err = think(
        capsys, "eval", str(dataset), *MODELS, "--plot", str(tmp_path / "no" / "x.png")
    )
    assert code == 2
    assert "cannot write" in err


def test_kept_results_are_not_reused_when_the_configuration_changes(
    dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    results = str(tmp_path / "results.jsonl")
    lenient = grid_json(capsys, dataset, "--results", results)
    monkeypatch.setenv("THINK_AGREEMENT", "1.0")  # the cascade now needs every answer to agree
    monkeypatch.setenv("THINK_CASCADE_MAX_SAMPLES", "5")
    strict = grid_json(capsys, dataset, "--results", results)
    assert rows_of(strict)["cascade"] != rows_of(lenient)["cascade"]
    assert (
        rows_of(strict)["single-cheap"]["accuracy"] == rows_of(lenient)["single-cheap"]["accuracy"]
    )
