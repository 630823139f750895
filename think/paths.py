"""Where think keeps its files (platformdirs), with environment overrides."""

from __future__ import annotations

import os
from pathlib import Path

APP = "think"


def config_file() -> Path:
    override = os.environ.get("THINK_CONFIG")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_path

    return user_config_path(APP) / "config.toml"


def default_ledger_file() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP) / "ledger.db"


def cache_dir() -> Path:
    """Derived data that can be rebuilt at any time (``THINK_CACHE_DIR`` overrides)."""
    override = os.environ.get("THINK_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path(APP)
