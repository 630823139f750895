"""``import think``: ask a question with a strategy and read the ledger, from Python."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import think
from tests.cli_support import API_KEY, MODEL
from tests.fakes.openai_server import FakeOpenAIServer
from tests.paths import REPO_ROOT


@pytest.fixture
def server_env(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    return fake_openai


def test_ask_answers_records_and_the_ledger_reads_it_back(server_env: FakeOpenAIServer) -> None:
    run = think.ask("What is 2+2?", model=MODEL, strategy="single", max_cost=0.01)
    assert isinstance(run, think.RunRecord)
    assert run.status == "ok"
    assert run.answer == "The answer is 4."
    assert run.cost.usd is not None
    assert run.cost.usd > 0
    (stored,) = think.recent_runs(limit=5)
    assert isinstance(stored, think.StoredRun)
    assert (stored.id, stored.status, stored.prompt) == (run.id, "ok", "What is 2+2?")
    assert stored.max_cost_usd == Decimal("0.01")
    (call,) = think.run_calls(run.id[:10])
    assert isinstance(call, think.StoredCall)
    assert (call.provider, call.model, call.status) == ("openai", "gpt-4o-mini", "ok")
    assert think.recent_runs(status="error") == []


def test_ask_with_a_bad_setting_raises_a_think_error() -> None:
    with pytest.raises(think.ThinkError, match="max_cost"):
        think.ask("hi", model=MODEL, max_cost=-1)


def test_ledger_argument_reads_another_file(tmp_path: Path, server_env: FakeOpenAIServer) -> None:
    other = tmp_path / "other.db"
    think.ask("hi", model=MODEL, strategy="single", ledger=str(other))
    assert len(think.recent_runs(ledger=other)) == 1
    assert think.recent_runs() == []


def test_the_public_surface_is_small_and_import_think_stays_light() -> None:
    assert sorted(think.__all__) == [
        "RunRecord",
        "StoredCall",
        "StoredRun",
        "ThinkError",
        "__version__",
        "ask",
        "recent_runs",
        "run_calls",
    ]
    for name in think.__all__:
        assert getattr(think, name) is not None
    code = (
        "import sys, think; heavy = [m for m in ('pydantic', 'httpx', 'rich', 'sqlite_utils') "
        "if m in sys.modules]; print(heavy)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert shown.stdout.strip() == "[]"
