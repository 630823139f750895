"""Model references of the form ``provider:model`` (``openai:gpt-4.1-mini``, ``local:smollm2``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from think.errors import UsageError


@dataclass(frozen=True)
class ModelRef:
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


def parse_model_ref(text: str, aliases: Mapping[str, str] | None = None) -> ModelRef:
    """Parse ``provider:model``, resolving aliases (which may chain, but not loop)."""
    chain: list[str] = []
    value = text.strip()
    while aliases and value in aliases:
        if value in chain:
            raise UsageError(f"model alias loop: {' -> '.join([*chain, value])}")
        chain.append(value)
        value = aliases[value].strip()
    provider, sep, model = value.partition(":")
    if not sep or not provider or not model:
        raise UsageError(
            f"model {text!r} must be written provider:model (for example openai:gpt-4.1-mini)"
        )
    return ModelRef(provider.strip().lower(), model.strip())
