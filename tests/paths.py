"""Where the tests find things: the repository, its fixtures, the installed console script
and the shared replay sets (outside the repository; tests that need them skip without)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
COMPLETIONS = REPO_ROOT / "completions"
THINK_BIN = Path(sys.executable).with_name("think")
"""The console script installed beside the interpreter running the tests."""
SHARED_REPLAY = REPO_ROOT.parent / "shared" / "replay"
GSM8K = SHARED_REPLAY / "gsm8k.jsonl"


def require_think_bin() -> Path:
    """The installed ``think`` console script, or skip: subprocess tests run the real binary."""
    if not THINK_BIN.exists():
        pytest.skip(f"{THINK_BIN} is not installed (pip install -e '.[test]' in this environment)")
    return THINK_BIN
