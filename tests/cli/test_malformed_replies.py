"""Replies of an unexpected shape end as provider errors (one line, exit 3, the call
recorded ``error`` with the reason), never a traceback or an ``ok`` run with no answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import MODEL, assert_one_error_line, calls, run_cli, runs, use_server
from tests.fakes.openai_server import FakeOpenAIServer, SseEvents, Status
from think.errors import ExitCode


def chunk(**fields: Any) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o-mini", **fields}


ODD_CHUNKS = {
    "index a word": [chunk(choices=[{"index": "abc", "delta": {"content": "hi"}}])],
    "delta a string": [chunk(choices=[{"index": 0, "delta": "hi"}])],
    "choices an object": [chunk(choices={"0": {"delta": {"content": "hi"}}})],
    "a choice a number": [chunk(choices=[7])],
}


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    monkeypatch.setenv("THINK_MAX_RETRIES", "0")
    return fake_openai


def assert_provider_error(result: Any, ledger_path: Path, reason: str) -> None:
    assert result.code == ExitCode.PROVIDER, result.err
    assert_one_error_line(result.err, reason)
    assert "Traceback" not in result.err
    (run,) = runs(ledger_path)
    assert run["status"] == "error"
    assert reason in run["error"]
    (call,) = calls(ledger_path, run["id"])
    assert call["status"] == "error"
    assert reason in call["error"]


@pytest.mark.parametrize("shape", sorted(ODD_CHUNKS))
def test_a_chunk_of_an_unexpected_shape_is_a_provider_error(
    shape: str,
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.script(SseEvents(ODD_CHUNKS[shape]))
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert_provider_error(result, ledger_path, "malformed reply")


def test_empty_choices_in_a_stream_is_no_answer(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.script(SseEvents([chunk(choices=[])]))
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert_provider_error(result, ledger_path, "the reply had no choices")
    assert result.out == ""


def test_empty_choices_in_a_whole_body_is_no_answer(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = {"id": "x", "object": "chat.completion", "model": "gpt-4o-mini", "choices": []}
    server.script(Status(200, body))
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert_provider_error(result, ledger_path, "the reply had no choices")


def test_a_web_page_with_status_200_says_so(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = "<!doctype html><html><body>Sign in</body></html>"
    server.script(Status(200, page, headers={"content-type": "text/html; charset=utf-8"}))
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert_provider_error(result, ledger_path, "answered with a web page (text/html)")
