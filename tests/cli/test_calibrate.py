"""``think calibrate`` and profiles: pick on a calibration split, check on the held-out
split, save ``[profiles.NAME]`` (keeping the user's config), use it with ``--profile``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_eval_grid import MODELS, dataset, think  # noqa: F401  (dataset is a fixture)
from think.errors import ExitCode
from think.evaluate.calibrate import choose, split


def test_split_is_seeded_disjoint_and_complete() -> None:
    items = list(range(20))
    calibration, held = split(items, 0.5, seed=1)
    assert len(calibration) == 10
    assert sorted(calibration + held) == items
    assert split(items, 0.5, seed=1) == (calibration, held)
    assert split(items, 0.5, seed=2) != (calibration, held)


def row(name: str, accuracy: float, cost: float) -> dict[str, Any]:
    return {
        "strategy": name,
        "n": 100,
        "accuracy": accuracy,
        "mean_cost_usd": cost,
        "cost_unknown": 0,
    }


def test_choose_cheapest_meeting_the_target_or_best_within_the_cost() -> None:
    rows = [row("a", 0.80, 1.0), row("b", 0.91, 3.0), row("c", 0.95, 9.0), row("d", 0.90, 2.0)]
    assert choose(rows, target_accuracy=0.9, max_cost_per_query=None)["strategy"] == "d"  # type: ignore[index]
    assert choose(rows, target_accuracy=0.93, max_cost_per_query=None)["strategy"] == "c"  # type: ignore[index]
    assert choose(rows, target_accuracy=0.99, max_cost_per_query=None) is None
    assert choose(rows, target_accuracy=None, max_cost_per_query=3.5)["strategy"] == "b"  # type: ignore[index]
    assert choose(rows, target_accuracy=0.9, max_cost_per_query=1.5) is None


def calibrate(
    capsys: pytest.CaptureFixture[str], path: Path, *args: str
) -> tuple[int, dict[str, Any], str]:
    code, out, err = think(capsys, "calibrate", str(path), *MODELS, "--json", *args)
    return code, (json.loads(out) if out.strip() else {}), err


def test_calibrate_saves_a_profile_that_think_uses(
    dataset: Path,  # noqa: F811
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config_path.write_text('# my settings\nmax_tokens = 900  # keep\n\n[aliases]\nfast = "x:y"\n')
    code, document, err = calibrate(
        capsys, dataset, "--target-accuracy", "0.8", "--profile", "mine"
    )
    assert code == ExitCode.OK, err
    assert document["profile"] == "mine"
    calibration = document["calibration"]
    assert calibration["accuracy"] >= 0.8
    assert calibration["n"] + document["held_out"]["n"] == 40
    # The pick is the cheapest setting of the grid that reached the target.
    reaching = [r for r in document["grid"]["strategies"] if r["n"] and r["accuracy"] >= 0.8]
    cheapest = min(r["mean_cost_usd"] for r in reaching)
    assert calibration["mean_cost_usd"] == cheapest
    assert document["settings"]["strategy"] in ("cascade", "single", "reason", "vote", "refine")
    assert document["settings"]["cheap"] == "replay:small"
    assert document["default_cascade_held_out"]["n"] == document["held_out"]["n"]
    text = config_path.read_text()
    assert text.startswith("# my settings\nmax_tokens = 900  # keep\n")  # comments kept
    assert '[aliases]\nfast = "x:y"' in text
    assert "[profiles.mine]" in text
    assert "[profiles.mine.calibration]" in text
    assert f'setting = "{document["setting"]}"' in text
    assert "dataset_sha256" in text

    # think --profile applies the saved settings; explicit flags still win.
    question = "Question number 1: what is it?"
    code, out, err = think(capsys, "--profile", "mine", "--json", question)
    assert code == ExitCode.OK, err
    answer = json.loads(out)
    assert answer["strategy"] == document["settings"]["strategy"]
    code, out, _ = think(capsys, "--profile", "mine", "-s", "single", "--json", question)
    assert json.loads(out)["strategy"] == "single"
    code, out, err = think(capsys, "--profile", "missing", question)
    assert code == ExitCode.USAGE
    assert "no profile 'missing'" in err


def test_calibrate_by_cost_and_without_saving(
    dataset: Path,  # noqa: F811
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, document, _ = calibrate(capsys, dataset, "--max-cost-per-query", "0.003", "--no-save")
    assert code == ExitCode.OK
    assert document["calibration"]["mean_cost_usd"] <= 0.003
    within = [r for r in document["grid"]["strategies"] if r["n"] and r["mean_cost_usd"] <= 0.003]
    assert document["calibration"]["accuracy"] == max(r["accuracy"] for r in within)
    assert document["config_file"] is None
    assert not config_path.exists()


def test_unreachable_target_exits_8_and_saves_nothing(
    dataset: Path,  # noqa: F811
    config_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps([{"name": "cheap", "strategy": "single", "model": "cheap"}]))
    code, _, err = calibrate(capsys, dataset, "--target-accuracy", "0.99", "--grid", str(grid))
    assert code == ExitCode.TARGET_NOT_MET == 8
    assert "no setting reaches accuracy 99.0%" in err
    assert "the best is cheap at" in err
    assert not config_path.exists()
    code, _, err = calibrate(capsys, dataset)
    assert code == ExitCode.USAGE
    assert "--target-accuracy or --max-cost-per-query" in err


def test_calibrate_csv(
    dataset: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = think(
        capsys, "calibrate", str(dataset), *MODELS, "--target-accuracy", "0.8", "--no-save", "--csv"
    )
    assert code == ExitCode.OK, err
    lines = out.splitlines()
    assert lines[0].startswith("split,strategy,technique,n,accuracy")
    assert lines[0].endswith(",picked")
    calibration = [line for line in lines if line.startswith("calibration,")]
    assert len(calibration) > 10
    assert sum(line.endswith(",True") for line in calibration) == 1
    held = [line for line in lines if line.startswith("held-out,")]
    assert [line.split(",")[1] for line in held][1] == "default cascade"
