"""What a server or a config puts in an error line: never a credential, never a raw escape
sequence, and a base URL that cannot work is a configuration error before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_support import API_KEY, MODEL, assert_one_error_line, run_cli, runs, use_server
from tests.fakes.openai_server import FakeOpenAIServer, bad_request
from think.errors import ExitCode
from think.providers.credentials import secrets_in, userinfo_free

GATEWAY_SECRET = "cfgw-0123456789-secret"


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    monkeypatch.setenv("THINK_MAX_RETRIES", "0")
    return fake_openai


@pytest.mark.parametrize(
    "url", ["ftp://example.com/v1", "not a url", "http:///v1", "localhost:8080"]
)
def test_a_base_url_that_is_not_http_is_a_config_error_before_any_call(
    url: str,
    fake_openai: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, f"OPENAI_BASE_URL: {url!r} is not an http(s) URL")
    assert not ledger_path.exists() or runs(ledger_path) == []


def test_a_configured_base_url_names_its_setting(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path.write_text('[providers.gw]\nbase_url = "ftp://gw/v1"\n', encoding="utf-8")
    result = run_cli(["-m", "gw:m", "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "providers.gw.base_url: 'ftp://gw/v1' is not an http(s) URL")


def test_userinfo_in_a_base_url_is_never_printed_or_stored(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "hunter2-very-secret"
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://bob:{password}@127.0.0.1:9/v1")
    monkeypatch.setenv("THINK_MAX_RETRIES", "0")
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.PROVIDER
    assert_one_error_line(result.err, "cannot connect to http://****@127.0.0.1:9/v1")
    assert password not in result.err
    (run,) = runs(ledger_path)
    assert password not in (run["error"] or "")
    assert "bob" not in (run["error"] or "")


def test_an_echoed_gateway_credential_is_masked_in_the_error_and_the_ledger(
    server: FakeOpenAIServer,
    config_path: Path,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path.write_text(
        "[providers.openai]\n"
        f'headers = {{ "cf-aig-authorization" = "Bearer {GATEWAY_SECRET}",'
        f' "Helicone-Auth" = "Bearer {GATEWAY_SECRET}x" }}\n',
        encoding="utf-8",
    )
    server.script(bad_request(f"bad gateway token Bearer {GATEWAY_SECRET} and {GATEWAY_SECRET}x"))
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code != ExitCode.OK
    assert server.chat_requests[0].headers["cf-aig-authorization"] == f"Bearer {GATEWAY_SECRET}"
    assert GATEWAY_SECRET not in result.err
    assert "…cret" in result.err  # masked, recognisable by its end
    (run,) = runs(ledger_path)
    assert GATEWAY_SECRET not in (run["error"] or "")


def test_escape_sequences_in_a_server_error_are_shown_not_obeyed(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server.script(bad_request("bad \x1b]0;pwned\x07 request \x1b[2J\x9b31m"))
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    assert result.code != ExitCode.OK
    assert "\x1b" not in result.err
    assert "\x07" not in result.err
    assert "\x9b" not in result.err
    assert_one_error_line(result.err, "bad \\x1b]0;pwned\\x07 request \\x1b[2J\\x9b31m")


def test_the_masking_rule() -> None:
    headers = {
        "Authorization": "Bearer sk-live-0123456789",
        "X-Title": "think-0123456789",
        "Helicone-Auth": "Bearer hel-0123456789",
        "x-short-key": "abc",
    }
    found = secrets_in(headers, "https://user:pa%40ss-0123456789@host/v1")
    assert "sk-live-0123456789" in found
    assert "Bearer sk-live-0123456789" in found
    assert "hel-0123456789" in found
    assert "pa@ss-0123456789" in found
    assert not any("think" in secret for secret in found)
    assert "abc" not in found  # too short to search for
    assert userinfo_free("https://user:pw@host:1/v1") == "https://****@host:1/v1"
    assert userinfo_free("https://host/v1") == "https://host/v1"
