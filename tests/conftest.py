"""Shared fixtures: an isolated environment per test and the loopback OpenAI server.

Tests live in tiers, one folder each, and each folder's tests carry its marker:
``unit`` (in-process, no server), ``providers`` (providers against loopback servers that
speak each wire format), ``cli`` (the CLI through Typer's runner) and ``e2e`` (the installed
console script as a subprocess, a real terminal, a real model server). ``pytest -m unit``
runs one tier.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes.anthropic_batch_server import fake_anthropic_batches  # noqa: F401  (fixture)
from tests.fakes.anthropic_server import fake_anthropic  # noqa: F401  (pytest fixture)
from tests.fakes.gemini_server import fake_gemini  # noqa: F401  (pytest fixture)
from tests.fakes.openai_batch_server import fake_openai_batches  # noqa: F401  (fixture)
from tests.fakes.openai_server import fake_openai  # noqa: F401  (pytest fixture)
from tests.postgres_support import (  # noqa: F401  (pytest fixtures)
    engine_ledger,
    pg_ledger,
    pg_server,
    pg_url,
)

PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_BASE_URL",
    "GOOGLE_GEMINI_BASE_URL",
    "OPENROUTER_API_KEY",
    "TOGETHER_API_KEY",
    "FIREWORKS_API_KEY",
    "GROQ_API_KEY",
    "DEEPSEEK_API_KEY",
    "VLLM_API_KEY",
    "SGLANG_API_KEY",
    "LLAMACPP_API_KEY",
    "OLLAMA_API_KEY",
)


TIERS = ("unit", "providers", "cli", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.parent.name
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own ledger and config file and no provider keys or THINK_* vars."""
    for name in list(os.environ):
        if name.startswith("THINK_") or name in PROVIDER_ENV:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "think-home"
    home.mkdir()
    monkeypatch.setenv("THINK_LEDGER", str(home / "ledger.db"))
    monkeypatch.setenv("THINK_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("THINK_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("THINK_EVAL_DIR", str(home / "evals"))
    monkeypatch.setenv("THINK_BATCH_DIR", str(home / "batches"))
    monkeypatch.setenv("THINK_SPOOL_DIR", str(home / "spool"))
    return home


@pytest.fixture
def ledger_path(isolated_env: Path) -> Path:
    return isolated_env / "ledger.db"


@pytest.fixture
def config_path(isolated_env: Path) -> Path:
    return isolated_env / "config.toml"
