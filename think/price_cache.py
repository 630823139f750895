"""genai-prices' prices of the models a user runs, cached on disk.

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
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from think.pricing import ModelPrice, Rate

log = logging.getLogger(__name__)

FILE_NAME = "genai-prices.json"

_RATES = ("input", "output", "cached_input", "cache_write", "cache_write_1h", "reasoning")


class Miss:
    """Nothing cached for this model (the price itself may be None: a known unknown)."""


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


def load(key: str) -> ModelPrice | Miss | None:
    """The cached price of ``key`` (``price_provider:model``), None for a model genai-prices
    has no chat price for, or :data:`MISS`."""
    stamp = genai_prices_stamp()
    if stamp is None:
        return MISS
    entries = _read(stamp)
    if key not in entries:
        return MISS
    try:
        return _decode(entries[key])
    except (ArithmeticError, KeyError, TypeError, ValueError):  # a corrupt entry
        return MISS


def store(key: str, price: ModelPrice | None) -> None:
    """Add ``key``'s price to the cache (best effort: a failure to write is only logged)."""
    stamp = genai_prices_stamp()
    if stamp is None:
        return
    entries = _read(stamp)
    entries[key] = _encode(price)
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"stamp": stamp, "prices": entries}), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        log.debug("could not write the price cache %s", path, exc_info=True)


def _encode_rate(rate: Rate | None) -> list[Any] | None:
    if rate is None:
        return None
    return [str(rate.base), [[start, str(price)] for start, price in rate.tiers]]


def _encode(price: ModelPrice | None) -> dict[str, Any] | None:
    if price is None:
        return None
    encoded: dict[str, Any] = {name: _encode_rate(getattr(price, name)) for name in _RATES}
    encoded.update(
        source=price.source,
        per_request=str(price.per_request),
        model_id=price.model_id,
        provider_id=price.provider_id,
    )
    return encoded


def _decode_rate(value: Any) -> Rate | None:
    from think.pricing import Rate

    if value is None:
        return None
    base, tiers = value
    return Rate(Decimal(base), tuple((int(start), Decimal(rate)) for start, rate in tiers))


def _decode(value: Any) -> ModelPrice | None:
    from think.pricing import ModelPrice

    if value is None:
        return None
    input_rate, output_rate = _decode_rate(value["input"]), _decode_rate(value["output"])
    if input_rate is None or output_rate is None:
        raise ValueError("a cached price without input or output rate")
    model_id, provider_id = value["model_id"], value["provider_id"]
    return ModelPrice(
        source=str(value["source"]),
        input=input_rate,
        output=output_rate,
        cached_input=_decode_rate(value["cached_input"]),
        cache_write=_decode_rate(value["cache_write"]),
        cache_write_1h=_decode_rate(value["cache_write_1h"]),
        reasoning=_decode_rate(value["reasoning"]),
        per_request=Decimal(value["per_request"]),
        model_id=None if model_id is None else str(model_id),
        provider_id=None if provider_id is None else str(provider_id),
    )
