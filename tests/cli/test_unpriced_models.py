"""A model that is not in the price catalogue: its cost is ``unknown`` everywhere, never
``$0.00 (computed)``, and the user is told why and how to price it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_support import run_cli, runs, use_server
from tests.fakes.openai_server import FakeOpenAIServer

UNPRICED = "openai:gpt-9"
HINT = 'openai:gpt-9 is not in the price catalogue (set [prices."openai:gpt-9"] in the config)'


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


def test_an_unpriced_run_is_unknown_in_json_the_ledger_and_show(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(["--json", "-m", UNPRICED, "hi"], capsys, monkeypatch)
    assert result.code == 0
    document = result.json
    assert document["cost_usd"] is None
    assert document["cost_source"] == "unknown"
    assert result.err == f"think: warning: cost unknown: {HINT}\n"
    (run,) = runs(ledger_path)
    assert run["cost_usd"] is None
    assert run["cost_source"] == "unknown"

    listing = run_cli(["ledger", "-n", "1"], capsys, monkeypatch)
    (row,) = [line for line in listing.out.splitlines() if run["id"][:8] in line]
    assert "unknown" in row.split()
    assert "$0.00" not in row

    shown = run_cli(["ledger", "show", run["id"]], capsys, monkeypatch)
    (cost_line,) = [line for line in shown.out.splitlines() if line.startswith("cost")]
    assert cost_line.split(maxsplit=1)[1] == "unknown (unknown)"
    (call_line,) = [line for line in shown.out.splitlines() if line.startswith("1 answer")]
    assert "unknown" in call_line
    assert "$0.00" not in call_line


def test_the_dry_run_names_the_unpriced_model(
    server: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(["--dry-run", "-m", UNPRICED, "hi"], capsys, monkeypatch)
    assert result.code == 0
    assert f"cost unknown: {HINT}" in result.out
    as_json = run_cli(["--dry-run", "--json", "-m", UNPRICED, "hi"], capsys, monkeypatch)
    plan = json.loads(as_json.out)
    assert plan["unpriced_models"] == [UNPRICED]
    assert plan["worst_usd"] is None
    assert server.requests == []


def test_a_priced_model_gets_no_warning(
    server: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(["--json", "-m", "openai:gpt-4o-mini", "hi"], capsys, monkeypatch)
    assert result.code == 0
    assert result.err == ""
    assert result.json["cost_source"] == "computed"
    plan = json.loads(
        run_cli(["--dry-run", "--json", "-m", "openai:gpt-4o-mini", "hi"], capsys, monkeypatch).out
    )
    assert plan["unpriced_models"] == []
