"""Where the prompt comes from: the argument, ``-f FILE``, ``-f -``, piped stdin, and both.

The unit tests drive :func:`think.cli.prompt_input.build_prompt` with byte streams; the CLI tests
check what actually reached the (fake) model over HTTP.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tests.cli_support import MODEL, assert_one_error_line, run_cli, runs, use_server
from tests.fakes.openai_server import FakeOpenAIServer
from think.cli.prompt_input import build_prompt, decode_text, read_file
from think.errors import ExitCode, UsageError


class Pipe(io.BytesIO):
    """Piped stdin (not a terminal)."""

    def isatty(self) -> bool:
        return False


class Terminal(io.BytesIO):
    """Interactive stdin: must never be read."""

    def isatty(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        raise AssertionError("read from a terminal")


# ----------------------------------------------------------------------------------------
# build_prompt


def test_words_are_joined_with_spaces() -> None:
    assert build_prompt(["what", "is", "2+2?"], None, Terminal()) == "what is 2+2?"


def test_single_argument_is_kept_verbatim() -> None:
    assert build_prompt(["line one\nline two"], None, Terminal()) == "line one\nline two"


def test_piped_stdin_alone_is_the_prompt() -> None:
    assert build_prompt([], None, Pipe(b"from stdin\n")) == "from stdin"


def test_stdin_material_comes_before_the_instruction() -> None:
    prompt = build_prompt(["summarise", "this"], None, Pipe(b"the material\nline 2\n"))
    assert prompt == "the material\nline 2\n\nsummarise this"


def test_file_material_comes_before_the_instruction(tmp_path: Path) -> None:
    path = tmp_path / "q.md"
    path.write_text("file body\n", encoding="utf-8")
    assert build_prompt(["explain"], str(path), Terminal()) == "file body\n\nexplain"
    assert build_prompt([], str(path), Terminal()) == "file body"


def test_file_wins_over_piped_stdin(tmp_path: Path) -> None:
    path = tmp_path / "q.md"
    path.write_text("from the file", encoding="utf-8")
    stdin = Pipe(b"from stdin")
    assert build_prompt([], str(path), stdin) == "from the file"
    assert stdin.tell() == 0  # stdin left alone


def test_dash_file_reads_stdin() -> None:
    assert build_prompt(["why?"], "-", Pipe(b"context")) == "context\n\nwhy?"


def test_terminal_stdin_is_not_read() -> None:
    assert build_prompt(["hello"], None, Terminal()) == "hello"


def test_empty_piped_stdin_with_argument_uses_the_argument() -> None:
    assert build_prompt(["hello"], None, Pipe(b"")) == "hello"
    assert build_prompt(["hello"], None, Pipe(b"\n\n")) == "hello"


def test_utf8_bom_is_dropped() -> None:
    assert build_prompt([], None, Pipe("\ufeffé".encode())) == "é"


@pytest.mark.parametrize(
    ("words", "stdin"),
    [
        ([], Terminal()),
        ([""], Terminal()),
        (["  ", "\t"], Terminal()),
        ([], Pipe(b"")),
        ([], Pipe(b" \n \n")),
    ],
)
def test_empty_prompt_is_a_usage_error(words: list[str], stdin: io.BytesIO) -> None:
    with pytest.raises(UsageError, match="empty prompt"):
        build_prompt(words, None, stdin)


def test_binary_and_invalid_utf8_are_rejected() -> None:
    with pytest.raises(UsageError, match="binary"):
        decode_text(b"abc\0def", "stdin")
    with pytest.raises(UsageError, match=r"not valid UTF-8 text \(byte 1\)"):
        decode_text(b"a\xffb", "stdin")
    assert decode_text("naïve ✓".encode(), "x") == "naïve ✓"


def test_read_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        read_file(str(tmp_path / "missing.txt"))
    with pytest.raises(UsageError, match="directory"):
        read_file(str(tmp_path))


# ----------------------------------------------------------------------------------------
# Through the CLI: what the model received


@pytest.fixture
def server(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    return fake_openai


def sent_prompt(server: FakeOpenAIServer) -> str:
    (request,) = server.chat_requests
    messages = request.json["messages"]
    assert messages[-1]["role"] == "user"
    return str(messages[-1]["content"])


def test_cli_joins_words(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["-m", MODEL, "what", "is", "2+2?"], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert sent_prompt(server) == "what is 2+2?"
    assert result.out == "The answer is 4.\n"


def test_cli_file(
    server: FakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "question.md"
    path.write_text("# Question\n\nWhat is 2+2?\n", encoding="utf-8")
    result = run_cli(["-m", MODEL, "-f", str(path)], capsys, monkeypatch)
    assert result.code == ExitCode.OK
    assert sent_prompt(server) == "# Question\n\nWhat is 2+2?"


def test_cli_file_dash_reads_stdin(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["-m", MODEL, "-f", "-"], capsys, monkeypatch, stdin=b"piped question\n")
    assert result.code == ExitCode.OK
    assert sent_prompt(server) == "piped question"


def test_cli_piped_stdin(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["-m", MODEL], capsys, monkeypatch, stdin=b"only stdin")
    assert result.code == ExitCode.OK
    assert sent_prompt(server) == "only stdin"


def test_cli_no_arguments_with_piped_stdin_asks(
    server: FakeOpenAIServer,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path.write_text(f'model = "{MODEL}"\n', encoding="utf-8")
    result = run_cli([], capsys, monkeypatch, stdin=b"bare pipe")
    assert result.code == ExitCode.OK
    assert sent_prompt(server) == "bare pipe"


def test_cli_stdin_and_argument_combine(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    diff = b"--- a/x.py\n+++ b/x.py\n@@\n-old\n+new\n"
    result = run_cli(["-m", MODEL, "review", "this", "patch"], capsys, monkeypatch, stdin=diff)
    assert result.code == ExitCode.OK
    assert sent_prompt(server) == diff.decode().rstrip("\n") + "\n\nreview this patch"


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], bytes | None, str]]:
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café".encode("latin-1"))
    return {
        "empty argument": ([""], None, "empty prompt"),
        "nothing at all": ([], None, "empty prompt"),
        "blank stdin": ([], b"   \n", "empty prompt"),
        "missing file": (["-f", str(tmp_path / "nope.md")], None, "no such file"),
        "directory": (["-f", str(tmp_path)], None, "directory"),
        "binary file": (["-f", str(binary)], None, "binary"),
        "binary stdin": (["explain"], b"\0\1\2", "binary"),
        "invalid utf-8 file": (["-f", str(latin1)], None, "UTF-8"),
        "invalid utf-8 stdin": ([], b"caf\xe9", "UTF-8"),
        # On POSIX an argv byte that is not UTF-8 arrives as a lone surrogate.
        "invalid utf-8 argument": (["caf\udce9"], None, "argument 3 is not valid UTF-8"),
        "invalid utf-8 option": (["--system", "caf\udce9", "hi"], None, "(byte 3)"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "empty argument",
        "nothing at all",
        "blank stdin",
        "missing file",
        "directory",
        "binary file",
        "binary stdin",
        "invalid utf-8 file",
        "invalid utf-8 stdin",
        "invalid utf-8 argument",
        "invalid utf-8 option",
    ],
)
def test_cli_bad_input_is_a_one_line_usage_error(
    case: str,
    server: FakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args, stdin, message = _bad_inputs(tmp_path)[case]
    argv = ["ask", "-m", MODEL] if case == "nothing at all" else ["-m", MODEL, *args]
    result = run_cli(argv, capsys, monkeypatch, stdin=stdin)
    assert result.code == ExitCode.USAGE
    assert result.out == ""
    assert_one_error_line(result.err, message)
    assert server.chat_requests == []


@pytest.mark.parametrize("no_log", [False, True])
def test_a_system_prompt_from_the_environment_that_is_not_utf8_is_a_usage_error(
    no_log: bool,
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A byte of THINK_SYSTEM that is not UTF-8 arrives as a lone surrogate: refused before
    anything is sent or recorded (with --no-log it was once recorded as an ok, paid call)."""
    monkeypatch.setenv("THINK_SYSTEM", "caf\udce9")
    argv = ["-m", MODEL, *(["--no-log"] if no_log else []), "hi"]
    result = run_cli(argv, capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "the system prompt is not valid UTF-8 text (byte 3)")
    assert server.chat_requests == []
    assert not ledger_path.exists() or runs(ledger_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_cli_unreadable_file(
    server: FakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "secret.md"
    path.write_text("hidden", encoding="utf-8")
    path.chmod(0)
    result = run_cli(["-m", MODEL, "-f", str(path)], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, "permission denied")
    assert server.chat_requests == []


def test_cli_unreadable_file_reports_os_error(
    server: FakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Works as root too: a path through a regular file is ENOTDIR for everyone.
    plain = tmp_path / "plain.txt"
    plain.write_text("x", encoding="utf-8")
    result = run_cli(["-m", MODEL, "-f", str(plain / "child.md")], capsys, monkeypatch)
    assert result.code == ExitCode.USAGE
    assert_one_error_line(result.err, f"cannot read {plain / 'child.md'}")
    assert server.chat_requests == []
