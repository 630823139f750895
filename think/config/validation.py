"""Validate the configuration cheaply, as every command does before it acts."""

from __future__ import annotations

import os

from think.config.paths import cache_dir, config_file


def ensure_valid_config() -> None:
    """Validate the configuration (the config file and ``THINK_*``) as every command does,
    cheaply: the full check (pydantic-settings, ~0.13 s to import) runs only when they
    changed since the last check that passed, recorded as a digest in the cache dir."""
    import hashlib

    digest = hashlib.sha256()
    path = config_file()
    try:
        digest.update(path.read_bytes() if path.is_file() else b"")
    except OSError:
        digest.update(b"unreadable")
    for name in sorted(os.environ):
        if name.startswith("THINK_"):
            digest.update(f"{name}={os.environ[name]}\0".encode())
    marker = cache_dir() / "config-checked"
    key = digest.hexdigest()
    try:
        if marker.read_text(encoding="ascii") == key:
            return
    except (OSError, UnicodeDecodeError):
        pass
    from think.config.settings import load_settings

    load_settings()  # raises ConfigError with the one-line message
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(key, encoding="ascii")
    except OSError:
        pass  # a read-only cache only costs the full check next time
