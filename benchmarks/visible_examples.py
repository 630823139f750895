"""What a user of a code prompt has to check an answer with: the examples its docstring shows.

``visible_examples(prompt, entry_point)`` turns them into (call, expected) Python expressions:
doctest lines (``>>> f(x)`` and the output under it), else example lines (``f(x) == y``,
``f(x) ➞ y``, ``f(x) => y``, ``f(x) returns y``, ``should return``), else ``For x = 1 the
output should be y`` and ``Input: ... Output: y`` blocks as keyword calls. Only self-contained
expressions are kept (every name a builtin or defined by the prompt); recurrences and prose are
dropped. ``visible_program`` makes them asserts after the answer's code; programs are run by
``think.evaluate.code_score.run_python`` (what ``think eval`` scores code items with): only ever
in a fresh isolated interpreter, in a new temporary directory, with a timeout.
"""

from __future__ import annotations

import ast
import builtins
import re
import shlex
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from think.evaluate.code_score import TIMEOUT

# --------------------------------------------------------------------------------------------
# Visible examples: what the prompt's docstring shows, as (call, expected) Python expressions

SEPARATOR_RE = re.compile(r"^\s*(?:==>|==|=>|➞|->|→|=|#?\s*returns|should return)\s*")
FOR_RE = re.compile(
    r"For (?P<args>\w+\s*=.+?),? the (?:output|result) should be (?P<want>.+?)\.?$", re.MULTILINE
)
INPUT_RE = re.compile(r"Input:\s*(?P<args>.+?)\s*Output:\s*(?P<want>[^\n]+)", re.DOTALL)


@dataclass(frozen=True)
class Example:
    call: str
    expected: str


def _function(prompt: str, entry_point: str) -> ast.FunctionDef | None:
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == entry_point:
            return node
    return None


def _known_names(prompt: str) -> set[str]:
    """Names an example may use: builtins and what the prompt itself defines or imports."""
    names = set(dir(builtins))
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _expression(text: str, known: set[str]) -> str | None:
    """``text`` as a self-contained Python expression (true/false spelt as Python), or None."""
    text = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", text.strip()))
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None
    free = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return ast.unparse(tree) if free <= known else None  # unparsed: comments dropped


def _expected(rest: str, known: set[str]) -> str | None:
    """The expected value after a call: whole, before a comment, without a full stop, or the
    last ``= value`` of a worked sum (``-> 19 - 5 - 6 = 8``)."""
    rest = rest.strip()
    for candidate in (rest, rest.split(" #")[0], rest.rstrip(".,"), rest.rsplit("=", 1)[-1]):
        found = _expression(candidate.strip().rstrip(",") if candidate != rest else rest, known)
        if found is not None:
            return found
    return None


def _call_end(text: str, start: int) -> int | None:
    """The index after the parenthesis closing the call opened at ``text[start]``."""
    depth, quote = 0, ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            quote = "" if char == quote and text[index - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _call_lines(doc: str, entry_point: str, known: set[str]) -> Iterable[Example]:
    """``f(x) == y``, ``f(x) ➞ y``, ``f(x) => y``, ``f(x) returns y``, ... one per line."""
    pattern = re.compile(rf"(?<![\w.]){re.escape(entry_point)}\(")
    for line in doc.splitlines():
        if line.lstrip().startswith(">>>"):
            continue
        match = pattern.search(line)
        end = _call_end(line, match.end() - 1) if match else None
        if match is None or end is None:
            continue
        separator = SEPARATOR_RE.match(line[end:])
        call = _expression(line[match.start() : end], known)
        want = _expected(line[end + separator.end() :], known) if separator else None
        if call is not None and want is not None and not pattern.search(want):  # a recurrence
            yield Example(call, want)


def _keyword_examples(doc: str, function: ast.FunctionDef, known: set[str]) -> Iterable[Example]:
    """``For x = 1, y = 2 the output should be 3`` and ``Input: x = 1 ... Output: 3`` blocks,
    as keyword calls (bare values as positional ones) on the function's own parameters."""
    params = {a.arg for a in function.args.args}
    found = [(m["args"], m["want"]) for m in FOR_RE.finditer(doc)]
    found += [(m["args"], m["want"]) for m in INPUT_RE.finditer(doc)]
    for raw, want in found:
        args = re.sub(r"^\s*(\w+)\s*:\s*", r"\1=", raw.strip(), flags=re.MULTILINE)
        call = _expression(f"{function.name}({', '.join(args.splitlines())})", known | params)
        if call is None:
            continue
        node = ast.parse(call, mode="eval").body
        assert isinstance(node, ast.Call)
        if not all(k.arg in params for k in node.keywords) or _expression(call, known) is None:
            continue
        expected = _expected(want, known)
        if expected is not None:
            yield Example(call, expected)


def _doctests(doc: str) -> Iterable[tuple[str, str]]:
    """``>>> source`` (``...`` continuing it) and the lines up to a blank line or the next
    ``>>>``, as (source, expected output); lenient about indentation, unlike doctest."""
    lines = [line.strip() for line in doc.splitlines()]
    for index, line in enumerate(lines):
        if not line.startswith(">>>"):
            continue
        source, want, rest = [line[3:].strip()], [], lines[index + 1 :]
        while rest and rest[0].startswith("..."):
            source.append(rest.pop(0)[3:].strip())
        while rest and rest[0] and not rest[0].startswith(">>>"):
            want.append(rest.pop(0))
        if want:
            yield " ".join(source), " ".join(want)


def visible_examples(prompt: str, entry_point: str) -> list[Example]:
    """The examples the prompt shows for ``entry_point``: doctest lines first, else example
    lines in the docstring, else For/Input-Output blocks; only self-contained expressions."""
    function = _function(prompt, entry_point)
    doc = (ast.get_docstring(function) if function else None) or ""
    known = _known_names(prompt)
    examples = []
    for source, want in _doctests(doc):
        call, expected = _expression(source, known), _expression(want, known)
        if call is not None and expected is not None and entry_point in call:
            examples.append(Example(call, expected))
    if not examples:
        examples = list(_call_lines(doc, entry_point, known))
    if not examples and function is not None:
        examples = list(_keyword_examples(doc, function, known))
    return list(dict.fromkeys(examples))


# --------------------------------------------------------------------------------------------
# Programs: the examples as asserts after the answer's code; the syntax gate

SAME = """
import math
def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
        except TypeError:
            return False
    if isinstance(a, (list, tuple)) and type(a) is type(b):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b
"""


def visible_program(code: str, examples: list[Example]) -> str:
    checks = "".join(f"assert _same({e.call}, {e.expected}), {e.call!r}\n" for e in examples)
    return f"{code}\n\n{SAME}\n{checks}"


def syntax_ok(code: str, entry_point: str) -> bool:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.FunctionDef) and n.name == entry_point for n in ast.walk(tree))


VERIFY_PROGRAM = """import os, subprocess, sys
path = os.environ.get("THINK_ANSWER_CODE_FILE")
if not path:
    sys.exit("the answer holds no fenced code")
scratch = os.path.dirname(path)
with open(path, encoding="utf-8") as handle:
    code = handle.read()
program = os.path.join(scratch, "visible.py")
with open(program, "w", encoding="utf-8") as handle:
    handle.write(PREFIX + "\\n" + code + SUFFIX)
try:
    done = subprocess.run([sys.executable, "-I", program], cwd=scratch,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
except subprocess.TimeoutExpired:
    sys.exit("the visible examples timed out")
sys.stdout.buffer.write(done.stdout[-1000:] + done.stderr[-1000:])
sys.exit(done.returncode)
"""


def verify_command(prefix: str, examples: list[Example], timeout: float = TIMEOUT) -> str:
    """A ``--verify-cmd`` line that runs ``examples`` against the answer's code (found in
    ``THINK_ANSWER_CODE_FILE``, placed after ``prefix``) as ``visible_program`` and
    ``run_python`` do: in a fresh isolated interpreter, in the verifier's temporary
    directory, with a timeout. With no examples it always fails: nothing to check."""
    if examples:
        suffix = visible_program("", examples)
        values = f"PREFIX = {prefix!r}\nSUFFIX = {suffix!r}\nTIMEOUT = {timeout!r}\n"
        program = values + VERIFY_PROGRAM
    else:
        program = 'import sys; sys.exit("the prompt shows no examples to check")'
    return shlex.join([sys.executable, "-I", "-c", program])
