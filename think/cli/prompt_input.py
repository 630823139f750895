"""Assemble the prompt from the argument, ``-f FILE`` (``-`` = stdin) and piped stdin.

With both an argument and stdin material, the material comes first and the argument (the
instruction about it) last, separated by a blank line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from think.errors import UsageError

BINARY_SNIFF_BYTES = 8192


def decode_text(data: bytes, source: str) -> str:
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        raise UsageError(f"{source} looks like binary data; think reads text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{source} is not valid UTF-8 text (byte {exc.start}); think reads text"
        ) from exc


def check_text(text: str, what: str) -> None:
    """``text`` must be UTF-8 text, as stdin and files must be: on POSIX a byte of an
    argument or an environment variable that is not arrives as a lone surrogate
    (``surrogateescape``), which no provider, ledger or terminal can take."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        where = "a lone surrogate"  # also one no byte stands for (a JSON "\ud800")
        try:
            text.encode("utf-8", "surrogateescape").decode("utf-8")
        except UnicodeDecodeError as exc:
            where = f"byte {exc.start}"
        except UnicodeEncodeError:
            pass
        raise UsageError(f"{what} is not valid UTF-8 text ({where}); think reads text") from None


def check_arguments(args: list[str]) -> None:
    """Every command-line argument is UTF-8 text, or a usage error names the first that is
    not."""
    for number, arg in enumerate(args, start=1):
        check_text(arg, f"argument {number}")


def read_file(path: str) -> str:
    try:
        data = Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise UsageError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"cannot read {path}: it is a directory") from None
    except PermissionError:
        raise UsageError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode_text(data, path)


def stdin_has_data(stdin: BinaryIO | None = None) -> bool:
    stream = stdin if stdin is not None else sys.stdin.buffer
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):
        return False


def combine(instruction: str, material: str) -> str:
    """The prompt of an instruction about some material (stdin, ``-f FILE``, a batch line's
    ``input``): the material first, then the instruction, separated by a blank line; either
    alone when the other is empty."""
    material = material.strip("\n")
    if material.strip() and instruction:
        return f"{material}\n\n{instruction}"
    return material if material.strip() else instruction


def build_prompt(
    words: list[str],
    file: str | None,
    stdin: BinaryIO | None = None,
) -> str:
    instruction = " ".join(words).strip()
    material = ""
    stream = stdin if stdin is not None else _stdin()
    if file == "-":
        material = decode_text(stream.read(), "stdin") if stream else ""
    elif file is not None:
        material = read_file(file)
    elif stream is not None and stdin_has_data(stream):
        material = decode_text(stream.read(), "stdin")
    prompt = combine(instruction, material)
    if not prompt.strip():
        raise UsageError(
            "empty prompt: give it as an argument, with -f FILE, or on stdin "
            "(think --help shows how)"
        )
    return prompt


def _stdin() -> BinaryIO | None:
    try:
        return sys.stdin.buffer
    except AttributeError:
        return None
