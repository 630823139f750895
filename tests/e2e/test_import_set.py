"""What a query imports: a guard for its start-up time (issue 12), read from the console
script's own ``-X importtime`` report (``PYTHONPROFILEIMPORTTIME``). No timings asserted."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from tests.cli_support import run_think, use_server
from tests.fakes.openai_server import FakeOpenAIServer

QUERY = ["-m", "openai:gpt-4o-mini", "-s", "single", "--no-reuse", "--json", "What is 2+2?"]

NEVER = {
    "rich",  # only when the live view draws on a terminal
    "pygments",
    "click",  # httpx's command line (think uses Typer's own click)
    "matplotlib",
    "tomlkit",
    "sqlite_utils",
    "think.providers.anthropic_messages",  # protocols not in use
    "think.providers.gemini",
    "think.strategies.cascade",
}
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| ( *)(\S+)$")


def imported_by(argv: list[str]) -> tuple[set[str], Any]:
    """The modules a ``think`` run imported (stderr not a terminal), and its JSON."""
    result = run_think(argv, env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    assert result.code == 0, result.err
    found = {m[2] for line in result.err.splitlines() if (m := IMPORT_LINE.match(line))}
    assert "think.cli.app" in found  # the report was read
    return found, result.json


def test_a_query_imports_only_what_it_needs(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_server(monkeypatch, fake_openai)
    # the first run creates the ledger (sqlite-utils' migrations, which import click) and
    # decodes the model's price from genai-prices' catalogue, then caches it
    first, first_run = imported_by(QUERY)
    assert "genai_prices.data" in first
    assert sorted((NEVER - {"sqlite_utils", "click"}) & first) == []
    again, second_run = imported_by(QUERY)
    assert sorted((NEVER | {"genai_prices", "genai_prices.data"}) & again) == []
    assert "think.providers.openai_chat" in again
    assert second_run["cost_usd"] == first_run["cost_usd"] > 0
