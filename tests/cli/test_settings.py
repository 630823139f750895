"""Settings: flag > ``THINK_*`` environment > TOML file > default; ``think config``; aliases.

Precedence is checked where it matters: in the request body the (fake) provider received.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import (
    ANSI,
    MODEL,
    Result,
    assert_one_error_line,
    run_cli,
    use_server,
)
from tests.fakes.openai_server import FakeOpenAIServer
from think.cli.config_cmd import mask
from think.cli.wiring import DEFAULT_OPENAI_CHEAP, DEFAULT_OPENAI_STRONG, VENDOR_DEFAULTS
from think.config.settings import Settings, load_settings, origins
from think.errors import ConfigError, ExitCode

SECRET = "sk-secret-abcdef123456"


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


def write_config(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def last_body(server: FakeOpenAIServer) -> dict[str, Any]:
    return server.chat_requests[-1].json


# ----------------------------------------------------------------------------------------
# Precedence


@pytest.mark.parametrize(
    ("file", "env", "flag", "expected"),
    [
        (None, None, None, 1024),
        ("77", None, None, 77),
        ("77", "55", None, 55),
        (None, "55", None, 55),
        ("77", "55", "33", 33),
        ("77", None, "33", 33),
        (None, None, "33", 33),
    ],
)
def test_max_tokens_precedence(
    file: str | None,
    env: str | None,
    flag: str | None,
    expected: int,
    server: FakeOpenAIServer,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if file is not None:
        write_config(config_path, f"max_tokens = {file}\n")
    if env is not None:
        monkeypatch.setenv("THINK_MAX_TOKENS", env)
    argv = ["-m", MODEL, "hi"]
    if flag is not None:
        argv[:0] = ["--max-tokens", flag]
    result = run_cli(argv, capsys, monkeypatch)
    assert result.code == ExitCode.OK
    body = last_body(server)
    assert body["max_completion_tokens"] == expected
    assert "max_tokens" not in body


def test_model_temperature_and_system_from_each_layer(
    server: FakeOpenAIServer,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_config(
        config_path,
        'model = "openai:gpt-4o"\ntemperature = 0.2\nsystem = "from the file"\n',
    )
    monkeypatch.setenv("THINK_TEMPERATURE", "0.7")
    result = run_cli(["--system", "from the flag", "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    body = last_body(server)
    assert body["model"] == "gpt-4o"  # file
    assert body["temperature"] == 0.7  # env over file
    assert body["messages"][0] == {"role": "system", "content": "from the flag"}
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    body = last_body(server)
    assert body["model"] == "gpt-4o-mini"  # flag over file
    assert body["messages"][0] == {"role": "system", "content": "from the file"}


def test_load_settings_ignores_unset_flags(config_path: Path) -> None:
    write_config(config_path, "max_tokens = 77\n")
    settings = load_settings({"max_tokens": None, "model": None})
    assert settings.max_tokens == 77
    assert load_settings({"max_tokens": 5}).max_tokens == 5


def test_origins(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(config_path, "max_tokens = 77\ntimeout = 30\nsystem = 'x'\n")
    monkeypatch.setenv("THINK_TIMEOUT", "12")
    where = origins({"system": "flag value", "model": None})
    assert where["system"] == "flag"
    assert where["timeout"] == "env"
    assert where["max_tokens"] == "file"
    assert where["model"] == "default"
    assert where["ledger"] == "env"  # THINK_LEDGER from the test environment
    assert set(where) == set(Settings.model_fields)


# ----------------------------------------------------------------------------------------
# think config show / path


def config_show(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *extra: str
) -> Result:
    result = run_cli(["config", "show", *extra], capsys, monkeypatch)
    assert result.code == ExitCode.OK, result.err
    return result


def table_rows(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in out.splitlines()[2:]:
        cells = line.split()
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


def test_config_show_values_and_origins(
    config_path: Path,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    write_config(config_path, 'max_tokens = 77\nmax_retries = 5\nmodel = "openai:gpt-4o"\n')
    monkeypatch.setenv("THINK_MAX_TOKENS", "55")
    monkeypatch.setenv("THINK_TEMPERATURE", "0.3")
    result = config_show(capsys, monkeypatch)
    assert result.out.splitlines()[0] == f"config file: {config_path}"
    rows = table_rows(result.out)
    assert rows["max_tokens"] == ["55", "env", "THINK_MAX_TOKENS"]
    assert rows["temperature"] == ["0.3", "env", "THINK_TEMPERATURE"]
    assert rows["max_retries"] == ["5", "file", str(config_path)]
    assert rows["model"] == ["openai:gpt-4o", "file", str(config_path)]
    assert rows["timeout"] == ["120.0", "default"]
    assert rows["cheap"] == ["openai:gpt-4o", "default", "(=", "model)"]
    assert rows["ledger"] == [str(ledger_path), "env", "THINK_LEDGER"]

    document = json.loads(config_show(capsys, monkeypatch, "--json").out)
    assert document["config_file"] == str(config_path)
    settings = document["settings"]
    assert settings["max_tokens"] == {
        "value": 55,
        "origin": "env",
        "source": "env THINK_MAX_TOKENS",
    }
    assert settings["max_retries"] == {
        "value": 5,
        "origin": "file",
        "source": f"file {config_path}",
    }
    assert settings["timeout"] == {"value": 120.0, "origin": "default", "source": "default"}
    assert settings["ledger"] == {
        "value": str(ledger_path),
        "origin": "env",
        "source": "env THINK_LEDGER",
    }
    assert set(settings) == set(Settings.model_fields)


def show_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    return json.loads(config_show(capsys, monkeypatch, "--json").out)


def test_config_show_says_the_key_based_models_and_a_missing_file(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert not config_path.exists()
    result = config_show(capsys, monkeypatch)
    assert result.out.splitlines()[0] == f"config file: {config_path} (does not exist)"
    rows = table_rows(result.out)
    by_key = ["default", "(keys:", "OPENAI_API_KEY)"]
    assert rows["model"] == [DEFAULT_OPENAI_CHEAP, *by_key]
    assert rows["cheap"] == [DEFAULT_OPENAI_CHEAP, *by_key]
    assert rows["strong"] == [DEFAULT_OPENAI_STRONG, *by_key]
    assert rows["strategy"] == ["cascade", "default", "(two", "models)"]
    assert rows["cascade_max_samples"] == ["5", "default"]
    assert rows["effort"][0] == "medium"
    assert rows["judge"][:2] == [DEFAULT_OPENAI_CHEAP, "default"]
    document = show_json(capsys, monkeypatch)
    assert document["config_file_exists"] is False
    assert document["settings"]["cheap"] == {
        "value": DEFAULT_OPENAI_CHEAP,
        "origin": "default",
        "source": "default (keys: OPENAI_API_KEY)",
    }
    assert document["settings"]["strong"]["value"] == DEFAULT_OPENAI_STRONG


@pytest.mark.parametrize("key", ["ANTHROPIC_API_KEY", "GOOGLE_API_KEY"])
def test_config_show_names_the_key_that_chose_the_models(
    key: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(key, SECRET)
    (_, cheap, strong) = next(row for row in VENDOR_DEFAULTS if key in row[0])
    settings = show_json(capsys, monkeypatch)["settings"]
    assert settings["cheap"]["value"] == cheap
    assert settings["strong"] == {
        "value": strong,
        "origin": "default",
        "source": f"default (keys: {key})",
    }


def test_config_show_says_each_source(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("THINK_CHEAP", "openai:gpt-4o-mini")
    write_config(
        config_path,
        'strong = "openai:o3"\nagreement = 0.75\n[profiles.fast]\nsamples = 3\n',
    )
    rows = table_rows(config_show(capsys, monkeypatch).out)
    assert rows["cheap"] == ["openai:gpt-4o-mini", "env", "THINK_CHEAP"]
    assert rows["strong"] == ["openai:o3", "file", str(config_path)]
    assert rows["model"] == [DEFAULT_OPENAI_CHEAP, "default", "(keys:", "OPENAI_API_KEY)"]
    assert rows["cascade_max_samples"] == ["4", "default", "(with", "agreement)"]
    assert rows["samples"] == ["5", "default"]
    monkeypatch.setenv("THINK_PROFILE", "fast")
    settings = show_json(capsys, monkeypatch)["settings"]
    assert settings["samples"] == {"value": 3, "origin": "profile", "source": "profile fast"}
    assert settings["profile"]["source"] == "env THINK_PROFILE"
    assert show_json(capsys, monkeypatch)["config_file_exists"] is True


def test_config_show_default_ledger_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("THINK_LEDGER")
    document = json.loads(config_show(capsys, monkeypatch, "--json").out)
    assert document["settings"]["ledger"]["origin"] == "default"
    assert document["settings"]["ledger"]["value"].endswith("ledger.db")


def test_config_show_masks_keys(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    file_secret = "sk-file-secret-0123456789"
    env_secret = "sk-nested-env-secret-ABCDEF"
    write_config(
        config_path,
        f'[providers.x]\nbase_url = "http://127.0.0.1:9/v1"\napi_key = "{file_secret}"\n',
    )
    monkeypatch.setenv("THINK_PROVIDERS__Y__BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("THINK_PROVIDERS__Y__API_KEY", env_secret)
    for extra in ((), ("--json",)):
        result = config_show(capsys, monkeypatch, *extra)
        for secret in (SECRET, file_secret, env_secret):
            assert secret not in result.out
            assert secret not in result.err
            assert secret[4:-4] not in result.out
        assert mask(SECRET) in result.out or json.dumps(mask(SECRET)) in result.out
    document = json.loads(result.out)
    assert document["keys"] == {"OPENAI_API_KEY": mask(SECRET)}
    providers = document["settings"]["providers"]
    assert providers["value"]["x"]["api_key"] == mask(file_secret)
    assert providers["value"]["x"]["base_url"] == "http://127.0.0.1:9/v1"
    assert providers["value"]["y"]["api_key"] == mask(env_secret)


def test_config_show_masks_secret_headers(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(
        config_path,
        "[providers.gw]\n"
        'base_url = "http://127.0.0.1:9/v1"\n'
        f'headers = {{ Authorization = "Bearer {SECRET}", "x-api-key" = "{SECRET}",'
        ' "X-Title" = "think" }\n',
    )
    for extra in ((), ("--json",)):
        result = config_show(capsys, monkeypatch, *extra)
        assert SECRET not in result.out
    headers = json.loads(result.out)["settings"]["providers"]["value"]["gw"]["headers"]
    assert headers["X-Title"] == "think"
    assert SECRET not in headers["Authorization"]


def test_mask() -> None:
    assert mask(SECRET) == "sk-…3456"
    assert mask("short") == "****"
    assert mask("12345678") == "****"


def test_config_path(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["config", "path"], capsys, monkeypatch)
    assert (result.code, result.out) == (ExitCode.OK, f"{config_path}\n")
    monkeypatch.delenv("THINK_CONFIG")
    result = run_cli(["config", "path"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert Path(result.out.strip()).parts[-2:] == ("think", "config.toml")


def test_config_without_subcommand_shows_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As click does: the whole help on stderr, exit 2 (not a one-line "error: Usage:").
    result = run_cli(["config"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert result.err.startswith("Usage: think config")
    assert "show" in result.err
    assert "path" in result.err
    assert "think: error" not in result.err


# ----------------------------------------------------------------------------------------
# Bad configuration: one line, exit 2, for every command


BAD_CONFIGS = {
    "invalid toml": ("max_tokens = [\n", "cannot parse config file"),
    "duplicate key": ("max_tokens = 5\nmax_tokens = 6\n", "cannot parse config file"),
    "unknown key": ("max_tokenz = 5\n", "max_tokenz"),
    "unknown nested key": ('[providers.x]\nbogus = "y"\n', "providers.x.bogus"),
    "wrong type": ('max_tokens = "lots"\n', "max_tokens"),
    "out of range": ("max_tokens = 0\n", "max_tokens"),
    "bad price": ('[prices."openai:x"]\ninput_mtok = -1\noutput_mtok = 1\n', "input_mtok"),
    "bad strategy": ('strategy = "magic"\n', "strategy"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
@pytest.mark.parametrize(
    "argv",
    [["-m", MODEL, "hi"], ["config", "show"], ["models"], ["ledger"]],
    ids=["ask", "config", "models", "ledger"],
)
def test_bad_config_is_a_usage_error(
    case: str,
    argv: list[str],
    server: FakeOpenAIServer,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text, message = BAD_CONFIGS[case]
    write_config(config_path, text)
    result = run_cli(argv, capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert result.out == ""
    assert_one_error_line(result.err, message)
    if case not in ("invalid toml", "duplicate key"):
        assert str(config_path) in result.err
    assert server.chat_requests == []


def test_config_file_that_is_not_utf8(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path.write_bytes('system = "café"\n'.encode("latin-1"))
    for argv in (["config", "show"], ["-m", MODEL, "hi"]):
        result = run_cli(argv, capsys, monkeypatch)
        assert result.code == ExitCode.USAGE
        assert_one_error_line(result.err, "UTF-8")


@pytest.mark.parametrize(
    "argv",
    [["-m", MODEL, "hi"], ["config", "show"], ["models"], ["ledger"], ["ledger", "stats"]],
)
def test_think_config_naming_a_directory_is_a_usage_error(
    argv: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("THINK_CONFIG", str(tmp_path))
    result = run_cli(argv, capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert result.out == ""
    assert_one_error_line(result.err, f"THINK_CONFIG is a directory, not a config file: {tmp_path}")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("THINK_MAX_TOKENS", "abc", "THINK_MAX_TOKENS"),
        ("THINK_TEMPERATURE", "9", "THINK_TEMPERATURE"),
        ("THINK_MAX_RETRIES", "-1", "THINK_MAX_RETRIES"),
        ("THINK_ALIASES", "not json", "aliases"),
        ("THINK_BOGUS", "1", ""),
    ],
)
def test_bad_environment(
    name: str,
    value: str,
    message: str,
    server: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(name, value)
    result = run_cli(["-m", MODEL, "hi"], capsys, monkeypatch)
    if name == "THINK_BOGUS":  # unknown THINK_* variables are ignored
        assert result.code == ExitCode.OK
        return
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, message)


def test_load_settings_raises_config_error(config_path: Path) -> None:
    write_config(config_path, "nope = 1\n")
    with pytest.raises(ConfigError, match="nope"):
        load_settings()


# ----------------------------------------------------------------------------------------
# Aliases


def test_alias_on_the_command_line(
    server: FakeOpenAIServer,
    config_path: Path,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_config(config_path, f'[aliases]\nfast = "{MODEL}"\n')
    result = run_cli(["-m", "fast", "--json", "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert last_body(server)["model"] == "gpt-4o-mini"
    assert result.json["models"] == [MODEL]


def test_alias_chain_in_the_config_model(
    server: FakeOpenAIServer,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_config(
        config_path,
        f'model = "default"\n[aliases]\ndefault = "fast"\nfast = "{MODEL}"\n',
    )
    result = run_cli(["hi"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert last_body(server)["model"] == "gpt-4o-mini"


def test_alias_loop_is_a_usage_error(
    server: FakeOpenAIServer,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_config(config_path, '[aliases]\na = "b"\nb = "a"\n')
    result = run_cli(["-m", "a", "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "alias loop")
    assert server.chat_requests == []


def test_aliases_listed_by_models(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(config_path, f'[aliases]\nfast = "{MODEL}"\n')
    result = run_cli(["models", "--json"], capsys, monkeypatch)
    assert result.json["aliases"] == {"fast": MODEL}
    result = run_cli(["models", "--all", "--no-pager"], capsys, monkeypatch, tty=True)
    assert f"aliases: fast = {MODEL}" in result.out
    piped = run_cli(["models", "--all"], capsys, monkeypatch).out
    assert "aliases" not in piped  # piped: the rows only
    assert not ANSI.search(result.out)
