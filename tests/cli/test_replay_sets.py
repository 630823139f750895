"""The cascade's defaults on other recorded sets (issue 3), when such sets are on this machine.

Sets in the replay format (../shared/replay/README.md) are looked for in
``$THINK_EXTRA_REPLAY_DIR``, else /tmp/replay-extra (benchmarks/build_replay_sets.py builds
them from Faithful-COT's recorded outputs; they are not committed). Without them every test
here skips. Criterion: the default cascade costs no more than the naive policy (escalate unless
the first 3 cheap answers agree) and loses at most 2 points of accuracy to it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from tests.cli_support import run_cli

# Read at import: the autouse isolated_env fixture clears THINK_* variables before each test.
EXTRA_DIR = Path(os.environ.get("THINK_EXTRA_REPLAY_DIR") or "/tmp/replay-extra")
SETS = sorted(EXTRA_DIR.glob("*.jsonl")) if EXTRA_DIR.is_dir() else []
NAIVE = (3, 3, 1.0)
UNANIMOUS_EARLY_EXIT = (2, 3, 1.0)  # the naive rule, stopping as soon as two answers differ
KNOWN_FAILURES: dict[str, str] = {}  # set name -> why the default misses (none at present)
Row = dict[str, float]


def cascade_rows(
    path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    policy: tuple[int, int, float] | None = None,
) -> dict[str, Row]:
    if policy is not None:
        for name, value in zip(("INITIAL", "MAX_SAMPLES"), policy[:2], strict=True):
            monkeypatch.setenv(f"THINK_CASCADE_{name}", str(value))
        monkeypatch.setenv("THINK_AGREEMENT", str(policy[2]))
    # Each run keeps its own results: a `think eval` that resumes must not reuse another policy's.
    monkeypatch.setenv("THINK_EVAL_DIR", tempfile.mkdtemp(dir=tmp_path))
    argv = ["eval", str(path), "--cheap", "replay:gpt-3.5-turbo", "--strong", "replay:gpt-4"]
    result = run_cli([*argv, "--json"], capsys, monkeypatch)
    assert result.code == 0, result.err
    return {row["strategy"]: row for row in json.loads(result.out)["strategies"]}


def meets_criterion(cascade: Row, naive: Row) -> bool:
    return (
        cascade["mean_cost_usd"] <= naive["mean_cost_usd"]
        and cascade["accuracy"] >= naive["accuracy"] - 0.02
    )


def known(path: Path) -> object:
    reason = KNOWN_FAILURES.get(path.stem)
    marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
    return pytest.param(path, id=path.stem, marks=marks)


needs_sets = pytest.mark.skipif(not SETS, reason=f"no replay sets in {EXTRA_DIR}")


@needs_sets
@pytest.mark.parametrize("path", [known(path) for path in SETS])
def test_default_cascade_is_no_dearer_and_at_most_2_points_below_the_naive_policy(
    path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = cascade_rows(path, tmp_path, capsys, monkeypatch)["cascade"]
    naive = cascade_rows(path, tmp_path, capsys, monkeypatch, NAIVE)["cascade"]
    assert meets_criterion(default, naive), (default, naive)


@needs_sets
@pytest.mark.parametrize("path", SETS, ids=[path.stem for path in SETS])
def test_unanimity_with_early_exit_meets_the_criterion(
    path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The naive rule stopping at the first disagreement: its accuracy exactly, cheaper."""
    rule = cascade_rows(path, tmp_path, capsys, monkeypatch, UNANIMOUS_EARLY_EXIT)["cascade"]
    naive = cascade_rows(path, tmp_path, capsys, monkeypatch, NAIVE)["cascade"]
    assert rule["accuracy"] == naive["accuracy"]
    assert meets_criterion(rule, naive)


@needs_sets
@pytest.mark.parametrize("path", SETS, ids=[path.stem for path in SETS])
def test_recorded_set_replays_without_errors(
    path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = cascade_rows(path, tmp_path, capsys, monkeypatch)
    assert all(row["errors"] == 0 and row["cost_unknown"] == 0 for row in rows.values())
    assert rows["single-strong"]["accuracy"] >= rows["single-cheap"]["accuracy"]
