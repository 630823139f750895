"""genai-prices' prices of the models a user runs, cached on disk (as JSON that
:mod:`think.pricing` encodes and decodes).

Importing genai-prices' catalogue (``genai_prices.data``, every provider and model) costs
more than the rest of a query's start-up; one model's price is a few numbers. The first
lookup of ``price_provider:model`` decodes it from genai-prices and stores it here; later
queries read this file and never import genai-prices.

The file (``cache_dir()/genai-prices.json``) is stamped with genai-prices' version and its
data file's size and modification time: another version or a reinstall makes every entry
stale (the file is then rewritten). Only prices that hold at any moment are stored: a model
whose genai-prices entry has dated or time-of-day prices (``ConditionalPrice``) is decoded
anew for each lookup. Tiers by prompt size are stored as they are (:class:`Rate` tiers).
think asks genai-prices for no request context, so its ``price_variants`` (service tiers)
never apply. A cache that cannot be read or parsed is ignored and rewritten, never an error.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "genai-prices.json"


class Miss:
    """Nothing cached for this model (a cached value may be None: a known unknown)."""


MISS = Miss()


def cache_path() -> Path:
    from think.config.paths import cache_dir

    return cache_dir() / FILE_NAME


@functools.cache
def genai_prices_stamp() -> str | None:
    """genai-prices' version and its data file's size and mtime, without importing it;
    None when it cannot be found (then nothing is cached)."""
    from importlib.util import find_spec

    try:
        spec = find_spec("genai_prices")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    package = Path(spec.origin).parent
    try:
        data = (package / "data.py").stat()
        with os.scandir(package.parent) as entries:
            versions = [
                entry.name.removeprefix("genai_prices-").removesuffix(".dist-info")
                for entry in entries
                if entry.name.startswith("genai_prices-") and entry.name.endswith(".dist-info")
            ]
    except OSError:
        return None
    version = versions[0] if len(versions) == 1 else "unknown"
    return f"{version} {data.st_size} {data.st_mtime_ns}"


def _read(stamp: str) -> dict[str, Any]:
    """The cached entries, or an empty dict when the file is missing, stale or corrupt."""
    try:
        loaded = json.loads(cache_path().read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(loaded, dict) or loaded.get("stamp") != stamp:
        return {}
    prices = loaded.get("prices")
    return prices if isinstance(prices, dict) else {}


def load(key: str) -> Any:
    """What :func:`store` stored under ``key`` (``price_provider:model``; a JSON value, the
    caller decodes it), or :data:`MISS`."""
    stamp = genai_prices_stamp()
    if stamp is None:
        return MISS
    entries = _read(stamp)
    return entries.get(key, MISS)


def store(key: str, value: Any) -> None:
    """Add ``key``'s price (JSON) to the cache (best effort: a failure to write is only
    logged)."""
    stamp = genai_prices_stamp()
    if stamp is None:
        return
    entries = _read(stamp)
    entries[key] = value
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"stamp": stamp, "prices": entries}), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        log.debug("could not write the price cache %s", path, exc_info=True)
