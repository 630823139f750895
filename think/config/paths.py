"""Where think keeps its files (platformdirs), with environment overrides."""

from __future__ import annotations

import os
from pathlib import Path

APP = "think"


def config_file() -> Path:
    """The config file: ``THINK_CONFIG``, else the user config directory's config.toml.

    ``THINK_CONFIG`` naming a directory is an error rather than a file silently not read.
    """
    override = os.environ.get("THINK_CONFIG")
    if override:
        path = Path(override).expanduser()
        if path.is_dir():
            from think.errors import ConfigError

            raise ConfigError(f"THINK_CONFIG is a directory, not a config file: {path}")
        return path
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


def eval_results_dir() -> Path:
    """Where ``think eval`` keeps per-question results (``THINK_EVAL_DIR`` overrides)."""
    override = os.environ.get("THINK_EVAL_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP) / "evals"


def batch_results_dir() -> Path:
    """Where ``think batch`` keeps each batch's results until it is run again
    (``THINK_BATCH_DIR`` overrides)."""
    override = os.environ.get("THINK_BATCH_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP) / "batches"


def spool_dir() -> Path:
    """Where runs wait whose team ledger (PostgreSQL) went away while they ran, one SQLite
    file per server, until ``think ledger sync`` delivers them (``THINK_SPOOL_DIR``
    overrides)."""
    override = os.environ.get("THINK_SPOOL_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP) / "spool"


DEFAULT_LEDGER_TIMEOUT = 10.0
"""Seconds a ledger write waits for another process's lock (``ledger_timeout``)."""


def ledger_location() -> tuple[Path | str, float]:
    """The ledger (a file, or a ``postgresql://`` URL) and its busy timeout, as the settings
    would give them.

    ``THINK_LEDGER``/``THINK_LEDGER_TIMEOUT``, else the config file's ``ledger`` and
    ``ledger_timeout``, else the defaults. For ``think ledger`` commands, which need nothing
    else: loading the full settings (pydantic-settings) would double their startup time.
    """
    import tomllib

    from think.errors import ConfigError

    file_values: dict[str, object] = {}
    path = config_file()
    if path.is_file():
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot parse config file {path}: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    ledger = os.environ.get("THINK_LEDGER") or file_values.get("ledger")
    raw_timeout = os.environ.get("THINK_LEDGER_TIMEOUT") or file_values.get("ledger_timeout")
    try:
        timeout = DEFAULT_LEDGER_TIMEOUT if raw_timeout is None else float(str(raw_timeout))
    except ValueError:
        timeout = -1.0
    if timeout <= 0:
        raise ConfigError(
            f"invalid setting ledger_timeout: {raw_timeout!r} is not a positive number"
        )
    if ledger is not None and not isinstance(ledger, str):
        raise ConfigError(f"invalid setting ledger ({path}): not a path or URL")
    if not ledger:
        return default_ledger_file(), timeout
    from think.ledger.location import as_location

    return as_location(ledger), timeout
