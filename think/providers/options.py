"""What a provider needs besides its endpoint: timeouts, retries, the local model, the replay
file. Built once from the settings by the CLI's composition root (:mod:`think.cli.wiring`);
providers never see the settings themselves.

A third-party protocol's factory is called as ``factory(endpoint, options)`` with these
options. Until think 0.2 it was called with the whole ``Settings``; the attribute names such
a factory could read (``timeout``, ``connect_timeout``, ``max_retries``, ``retry_base_delay``,
``local_model_path``, ``local_context``, ``local_threads``) still work for one release and
warn (:class:`DeprecationWarning`).
"""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based), jittered down by up to 25%."""
        delay = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return delay * random.uniform(0.75, 1.0)


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    idle: float = 120.0
    """Longest wait for the next bytes of a response."""


@dataclass(frozen=True)
class LocalModelOptions:
    """The in-process model (llama.cpp): its weights file, context size and threads."""

    path: Path | None = None
    """``None``: the endpoint's ``model_path``, else the bundled SmolLM2 file."""
    context: int = 2048
    threads: int | None = None


_SETTINGS_NAMES = {
    "timeout": lambda o: o.timeouts.idle,
    "connect_timeout": lambda o: o.timeouts.connect,
    "max_retries": lambda o: o.retry.max_retries,
    "retry_base_delay": lambda o: o.retry.base_delay,
    "local_model_path": lambda o: o.local.path,
    "local_context": lambda o: o.local.context,
    "local_threads": lambda o: o.local.threads,
}
"""The ``Settings`` attributes a pre-0.2 factory may read, and where they live now."""


@dataclass(frozen=True)
class ProviderOptions:
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    local: LocalModelOptions = field(default_factory=LocalModelOptions)
    replay_file: Path | None = None
    """Recorded answers served by ``replay:`` models."""

    def __getattr__(self, name: str) -> object:
        moved = _SETTINGS_NAMES.get(name)
        if moved is None:
            raise AttributeError(name)
        warnings.warn(
            f"provider factories receive ProviderOptions, not Settings: {name} is deprecated "
            "(see think.providers.options)",
            DeprecationWarning,
            stacklevel=2,
        )
        return moved(self)
