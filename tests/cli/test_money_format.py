"""Money is shown one way to people and one way to programs, in every command.

People: ``$0.01``, ``$0.0012``, ``$0.00001`` (at most two significant digits, no exponent, no
trailing zeros past the cents). Programs (``--json``, CSV): numbers rounded to the nano-dollar.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import run_cli, use_server
from tests.fakes.openai_server import FakeOpenAIServer

EXPONENT = re.compile(r"\$\d[\d.]*e[-+]?\d", re.IGNORECASE)
NOISY = re.compile(r"\$\d+\.\d*[1-9]0+\b")  # $0.010, $0.000010: a zero past two digits


def money_values(document: Any, key: str = "") -> list[float]:
    if isinstance(document, dict):
        return [v for k, item in document.items() for v in money_values(item, k)]
    if isinstance(document, list):
        return [v for item in document for v in money_values(item, key)]
    if key.endswith("_usd") and isinstance(document, (int, float)):
        return [float(document)]
    return []


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


def test_money_in_json_is_rounded_to_the_nano_dollar_everywhere(
    server: FakeOpenAIServer,
    ledger_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[prices."openai:gpt-4o-mini"]\ninput_mtok = 0.1234567891\noutput_mtok = 0.3333333333\n'
    )
    monkeypatch.setenv("THINK_CONFIG", str(config))
    ask = ["--json", "--max-cost", "0.01", "-m", "openai:gpt-4o-mini", "what is 2+2?"]
    documents = [run_cli(ask, capsys, monkeypatch).json for _ in range(3)]
    run_id = documents[0]["run_id"]
    for argv in (
        ["ledger", "--json"],
        ["ledger", "show", run_id, "--json"],
        ["ledger", "stats", "--json"],
        ["ledger", "export"],
        ["--dry-run", "--json", "--max-cost", "0.01", "what is 2+2?"],
    ):
        result = run_cli(argv, capsys, monkeypatch)
        assert result.code == 0, (argv, result.err)
        documents += [json.loads(line) for line in result.out.splitlines() if line.strip()]
    values = money_values(documents)
    assert len(values) >= 10
    assert all(round(value, 9) == value for value in values), values
    assert documents[0]["cost_usd"] > 0


def test_money_for_people_has_no_exponent_and_no_trailing_zeros(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ask = ["--max-cost", "0.00005", "-m", "openai:gpt-4o-mini", "what is 2+2?"]
    outputs = [run_cli(ask, capsys, monkeypatch)]
    run_id = json.loads(run_cli(["ledger", "--json", "-n", "1"], capsys, monkeypatch).out)["id"]
    for argv in (
        ["ledger"],
        ["ledger", "show", run_id],
        ["ledger", "stats"],
        ["--dry-run", "--max-cost", "0.00001", "-m", "openai:gpt-4o-mini", "what is 2+2?"],
    ):
        outputs.append(run_cli(argv, capsys, monkeypatch))
    text = "\n".join(result.out + result.err for result in outputs)
    assert "$" in text
    assert not EXPONENT.search(text), EXPONENT.findall(text)
    assert not NOISY.search(text), NOISY.findall(text)
    assert "--max-cost $0.00001" in text  # the dry run's cap, as written
