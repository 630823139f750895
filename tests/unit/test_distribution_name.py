"""The distribution name: one nobody else holds on PyPI (``think-cli`` is an unrelated notes
tool with its own top-level ``think`` package), used by every install hint."""

from __future__ import annotations

import re
import tomllib

from tests.paths import REPO_ROOT

DISTRIBUTION = "think-cascade"
TAKEN = ("think-cli", "think")
INSTALL_HINT = re.compile(r"pip install[^\n`]*?'([A-Za-z0-9_.-]+)\[")


def test_the_package_is_named_think_cascade() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == DISTRIBUTION


def test_every_install_hint_names_the_distribution() -> None:
    files = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "think").rglob("*.py"))]
    hints = {
        (path.relative_to(REPO_ROOT).as_posix(), name)
        for path in files
        for name in INSTALL_HINT.findall(path.read_text(encoding="utf-8"))
    }
    assert hints  # the README and the runtime hints do name an extra to install
    # a clone installs itself ('.[local]'); every named install is this distribution
    assert {name for _, name in hints} - {"."} == {DISTRIBUTION}, sorted(hints)
    for path in files:
        text = path.read_text(encoding="utf-8")
        for taken in TAKEN:
            assert f"'{taken}[" not in text, (path, taken)
