"""The settings ``think eval`` compares: the four default rows, or a grid.

A grid setting is a name, a technique (the family it belongs to, for the table) and a set
of settings overrides — the same keys as the config file and the command-line flags
(``strategy``, ``model``, ``samples``, ``agreement``, ``rounds``, ``effort``, ``max_tokens``,
...), so a setting that ``think calibrate`` picks can be saved as a profile and used by
``think --profile NAME`` unchanged. ``model`` may be ``"cheap"`` or ``"strong"``: the
evaluation's two models.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from think.errors import UsageError

CHEAP = "cheap"
STRONG = "strong"


@dataclass(frozen=True)
class GridSetting:
    name: str
    technique: str
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def resolved(self, cheap: str, strong: str) -> dict[str, Any]:
        """The overrides with ``"cheap"``/``"strong"`` model placeholders filled in."""
        names = {CHEAP: cheap, STRONG: strong}
        values = dict(self.overrides)
        for key in ("model", "cheap", "strong", "judge"):
            if key in values:
                values[key] = names.get(values[key], values[key])
        values.setdefault("cheap", cheap)
        values.setdefault("strong", strong)
        return values


def _s(name: str, technique: str, **overrides: Any) -> GridSetting:
    return GridSetting(name, technique, overrides)


FOUR_ROWS: tuple[GridSetting, ...] = (
    _s("single-cheap", "single", strategy="single", model=CHEAP),
    _s("single-strong", "single", strategy="single", model=STRONG),
    _s("vote", "vote", strategy="vote", model=CHEAP),
    _s("cascade", "cascade", strategy="cascade"),
)
"""Without ``--grid``: the cheap and strong models alone, self-consistency and the cascade,
each at the configured defaults."""

DEFAULT_GRID: tuple[GridSetting, ...] = (
    _s("single-cheap", "single", strategy="single", model=CHEAP),
    # Chain of thought on the cheap model at output budgets of 256, 1024 and 4096 tokens:
    # reasoning mode multiplies max_tokens by 2, 4 and 8 for efforts low, medium and high.
    _s("cot-256", "chain-of-thought", strategy="reason", model=CHEAP, effort="low", max_tokens=128),
    _s(
        "cot-1024",
        "chain-of-thought",
        strategy="reason",
        model=CHEAP,
        effort="medium",
        max_tokens=256,
    ),
    _s(
        "cot-4096",
        "chain-of-thought",
        strategy="reason",
        model=CHEAP,
        effort="high",
        max_tokens=512,
    ),
    *(
        _s(f"vote-{n}", "self-consistency", strategy="vote", model=CHEAP, samples=n)
        for n in (1, 3, 5, 10)
    ),
    # The default cascade (the first 2 agree — 3 for closed answers — then 3 of 5), then
    # cascades needing k of up to m cheap answers to agree.
    _s("cascade", "cascade", strategy="cascade"),
    *(
        _s(
            f"cascade-{k}of{m}",
            "cascade",
            strategy="cascade",
            agreement=k / m,
            cascade_max_samples=m,
        )
        for k, m in ((2, 3), (3, 3), (2, 4), (3, 4), (4, 4))
    ),
    *(
        _s(
            f"refine-{rounds}",
            "refine",
            strategy="refine",
            verifier="judge",
            judge=CHEAP,
            rounds=rounds,
        )
        for rounds in (1, 2, 3)
    ),
    _s("single-strong", "single", strategy="single", model=STRONG),
    *(
        _s(f"strong-{effort}", "reasoning effort", strategy="reason", model=STRONG, effort=effort)
        for effort in ("low", "medium", "high")
    ),
)


def load_grid(spec: str) -> tuple[GridSetting, ...]:
    """``default`` or a TOML/JSON file: a list of tables with ``name``, optional
    ``technique``, and settings (``[[setting]]`` in TOML, a list or ``{"settings": [...]}``
    in JSON)."""
    if spec == "default":
        return DEFAULT_GRID
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--grid: cannot read {path}: {exc.strerror}") from exc
    try:
        data: Any = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"--grid: cannot parse {path}: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("setting", data.get("settings"))
    if not isinstance(data, list) or not data:
        raise UsageError(f"--grid: {path} holds no settings (a list of tables with a name)")
    settings: list[GridSetting] = []
    for number, entry in enumerate(data, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise UsageError(f"--grid: {path}: setting {number} has no name")
        values = dict(entry)
        name = values.pop("name")
        technique = str(values.pop("technique", values.get("strategy", "custom")))
        settings.append(GridSetting(name, technique, values))
    names = [s.name for s in settings]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise UsageError(f"--grid: {path}: the name {duplicate!r} is used twice")
    return tuple(settings)
