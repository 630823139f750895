"""The PostgreSQL fixture's rule: without a server to start, skip on a laptop, fail in CI."""

from __future__ import annotations

import pytest

from tests import postgres_support


def test_without_a_server_tests_skip_unless_ci_requires_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postgres_support, "REQUIRED", False)
    with pytest.raises(pytest.skip.Exception, match="initdb"):
        postgres_support._unavailable("initdb is not installed")
    monkeypatch.setattr(postgres_support, "REQUIRED", True)
    with pytest.raises(pytest.fail.Exception, match="THINK_REQUIRE_POSTGRES=1"):
        postgres_support._unavailable("initdb is not installed")
