"""The live view appears on stderr only when stderr is a terminal; stdout stays clean."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli_support import on_terminal
from tests.fakes.openai_server import FakeOpenAIServer, Generate


def server_env(server: FakeOpenAIServer) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test-live-0000000000"}


def test_terminal_stderr_gets_live_view_and_summary_while_stdout_is_a_pipe(
    fake_openai: FakeOpenAIServer,
) -> None:
    fake_openai.chunk_delay = 0.05
    code, stdout, shown = on_terminal(
        ["-m", "openai:gpt-4o-mini", "what is 2+2?"], server_env(fake_openai)
    )
    assert code == 0
    assert stdout == "The answer is 4.\n"
    # the summary line: status, the model that answered, ..., the run's id
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    summary = r"\bok  openai:gpt-4o-mini  3\+4 in\+out tok  \$0\.0000029  \d+\.\ds  run [0-9a-z]{8}"
    assert re.search(summary, plain), plain
    assert "The answer is 4." not in shown  # the answer goes to stdout only


def test_quiet_keeps_the_terminal_silent(fake_openai: FakeOpenAIServer) -> None:
    code, _, shown = on_terminal(["-q", "-m", "openai:gpt-4o-mini", "hi"], server_env(fake_openai))
    assert code == 0
    assert shown == ""


def test_reasoning_is_shown_live_on_the_terminal_never_on_stdout(
    fake_openai: FakeOpenAIServer,
) -> None:
    fake_openai.chunk_delay = 0.08
    fake_openai.reasoning_field = "reasoning_content"  # as DeepSeek and llama.cpp stream it
    thinking = "Carefully adding the two numbers gives four"
    argv = ["-m", "openai:o4-mini", "what is 2+2?"]
    fake_openai.script(Generate(reasoning=thinking))
    code, stdout, shown = on_terminal(argv, server_env(fake_openai))
    assert code == 0
    assert stdout == "The answer is 4.\n"
    assert "Carefully adding" in shown
    fake_openai.script(Generate(reasoning=thinking))
    code, stdout, shown = on_terminal(["--hide-reasoning", *argv], server_env(fake_openai))
    assert stdout == "The answer is 4.\n"
    assert "Carefully" not in shown
    assert "thinking" in shown


def test_eval_shows_a_progress_bar_on_the_terminal_and_keeps_stdout_clean(
    tmp_path: Path,
) -> None:
    from tests.cli.test_eval_and_plan import record

    dataset = tmp_path / "set.jsonl"
    rows = [record(n, "4", ["4", "5", "4", "4"], "4") for n in range(1, 31)]
    dataset.write_text("".join(json.dumps(row) + "\n" for row in rows))
    argv = ["eval", str(dataset), "--json", "--concurrency", "1"]
    code, stdout, shown = on_terminal(
        [*argv, "--cheap", "replay:small", "--strong", "replay:big"],
        {"THINK_LEDGER": str(tmp_path / "ledger.db"), "COLUMNS": "120"},
    )
    assert code == 0
    document = json.loads(stdout)  # stdout holds exactly the JSON document
    assert document["n"] == 30
    assert "eval" in shown
    assert "accuracy 100.0%" in shown
    assert "/120" in shown  # 30 questions x 4 strategies
    assert "spent $" in shown
