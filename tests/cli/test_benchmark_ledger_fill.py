"""benchmarks/ledger.py fills a ledger the way the startup and ledger benchmarks need it:
the rows it writes must be rows every ledger command reads."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from tests.cli_support import run_cli
from tests.paths import REPO_ROOT


def test_filled_ledger_reads_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(REPO_ROOT / "benchmarks"))
    bench = importlib.import_module("ledger")
    path = tmp_path / "bench.db"
    calls = bench.fill(path, 30)
    monkeypatch.setenv("THINK_LEDGER", str(path))
    listed = run_cli(["ledger", "-n", "20", "--json"], capsys, monkeypatch)
    assert listed.code == 0, listed.err
    assert len([json.loads(line) for line in listed.out.splitlines()]) == 20
    stats = run_cli(["ledger", "stats", "--json"], capsys, monkeypatch)
    assert stats.code == 0, stats.err
    assert json.loads(stats.out)["total"]["runs"] == 30
    assert calls >= 30
