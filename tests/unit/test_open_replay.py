"""benchmarks/open_replay.py and benchmarks/visible_examples.py on tiny inline fixtures.

The gate may only see what a user has (the prompt's examples, the answer); the label is the
hidden test. Generated code runs in a subprocess: these tests run real interpreters too.
"""

from __future__ import annotations

import importlib
import os
import shlex
import subprocess
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from tests.paths import REPO_ROOT
from think.evaluate.code_score import answer_code, hidden_program, run_python


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, ModuleType]:
    monkeypatch.syspath_prepend(str(REPO_ROOT / "benchmarks"))
    return importlib.import_module("visible_examples"), importlib.import_module("open_replay")


def pairs(module: ModuleType, prompt: str, entry_point: str) -> list[tuple[str, str]]:
    return [(e.call, e.expected) for e in module.visible_examples(prompt, entry_point)]


DOCTEST_PROMPT = '''from typing import List


def add(xs: List[int], k: int) -> List[int]:
    """ Add k to each element.
    >>> add([1, 2], 1)
    [2, 3]
    >>> add([],
    ...     5)
    []
    >>> add(xs, 1)  # xs is not defined: not a self-contained example
    [2]
    """
'''

LINES_PROMPT = '''
def f(n):
    """Examples:
    f(3) ➞ False
    f(4) => true
    f(5) returns 'five' # a comment
    f(6) == 6.00
    f(n) = f(n - 1) + 1
    f(2) = f(1) + 1
    Write a function f() that returns things.
    """
'''

KEYWORD_PROMPT = '''
def cut(s, c):
    """For s = "abc", c = "b", the result should be ('ac',False)
    Example 1:
        Input: s = "aa", c = "a"
        Output: ('', True) # all removed
    Example 2:
        Input: text = "x", c = "x"
        Output: ''
    """
'''


def test_doctest_examples_become_expressions_and_undefined_names_are_dropped(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    visible, _ = bench
    assert pairs(visible, DOCTEST_PROMPT, "add") == [
        ("add([1, 2], 1)", "[2, 3]"),
        ("add([], 5)", "[]"),
    ]


def test_example_lines_in_their_usual_spellings(bench: tuple[ModuleType, ModuleType]) -> None:
    visible, _ = bench
    assert pairs(visible, LINES_PROMPT, "f") == [
        ("f(3)", "False"),
        ("f(4)", "True"),
        ("f(5)", "'five'"),
        ("f(6)", "6.0"),
    ]  # the recurrences and the prose mention are not examples


def test_for_and_input_output_blocks_become_keyword_calls_on_real_parameters(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    visible, _ = bench
    assert pairs(visible, KEYWORD_PROMPT, "cut") == [
        ("cut(s='abc', c='b')", "('ac', False)"),
        ("cut(s='aa', c='a')", "('', True)"),
    ]  # ``text`` is not a parameter of cut


def test_a_prompt_without_examples_has_none(bench: tuple[ModuleType, ModuleType]) -> None:
    visible, _ = bench
    assert visible.visible_examples('def g(x):\n    """Return x."""\n', "g") == []
    assert visible.visible_examples("def g(x:\n", "g") == []  # does not parse


def test_programs_run_in_a_subprocess_and_report_pass_or_fail(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    visible, _ = bench
    examples = visible.visible_examples(DOCTEST_PROMPT, "add")
    right = "def add(xs, k):\n    return [x + k for x in xs]\n"
    wrong = "def add(xs, k):\n    return xs\n"
    assert run_python(visible.visible_program(right, examples)).passed
    assert not run_python(visible.visible_program(wrong, examples)).passed
    assert not run_python("while True:\n    pass\n", timeout=1.0).passed
    test = "def check(candidate):\n    assert candidate([0], 2) == [2]\n"
    assert run_python(hidden_program(right, test, "add")).passed
    assert not run_python(hidden_program(wrong, test, "add")).passed
    assert run_python(visible.SAME + "assert _same([0.1 + 0.2], [0.3])\n").passed


def test_answer_code_and_syntax_gate(bench: tuple[ModuleType, ModuleType]) -> None:
    visible, _ = bench
    fenced = "Here:\n```python\ndef h():\n    return 1\n```\n"
    stray = "```python\ndef h():\n    return 1```"
    code = "def h():\n    return 1"
    assert answer_code(fenced).strip() == answer_code(stray).strip() == code
    assert visible.syntax_ok(answer_code(stray), "h")
    assert not visible.syntax_ok("def h(:\n", "h")
    assert not visible.syntax_ok("def other():\n    pass\n", "h")


PAGE = """# Results of GPT-4 on HumanEval/9
## Prompt
Tokens: 120
```python
def f(x):
    \"\"\"doc\"\"\"
```
The above is an incomplete Python code fragment. Return the complete code.
## Correct solution
```python
    return x
```
## Runs
### ✅ Run 2
Start time: 2023-07-18 17:30:44<br />
Completion tokens: 30<br />
Result: Pass
```python
def f(x):
    return x
```
### ❌ Run 1
Completion tokens: 41<br />
Result: Fail
```python
```python
def f(x):
    return 0```
```
"""


def test_results_page_parsing(bench: tuple[ModuleType, ModuleType]) -> None:
    _, replay = bench
    page = replay.parse_page(PAGE)
    assert page["input_tokens"] == 120
    assert page["instruction"].startswith("The above is an incomplete")
    assert [(r["run"], r["output_tokens"], r["recorded_pass"]) for r in page["runs"]] == [
        (1, 41, False),
        (2, 30, True),
    ]
    assert page["runs"][0]["text"] == "```python\ndef f(x):\n    return 0```"


def test_scoring_counts_accuracy_cost_and_gate_errors(bench: tuple[ModuleType, ModuleType]) -> None:
    _, replay = bench

    def answer(passed: bool, cost: int, visible: bool) -> object:
        return replay.Answer(passed, passed, Decimal(cost), visible, True)

    items = [
        replay.Item(answer(True, 1, True), answer(True, 10, True), True),  # kept, right
        replay.Item(answer(False, 1, True), answer(True, 10, True), True),  # false accept
        replay.Item(answer(False, 1, False), answer(True, 10, True), True),  # escalated, fixed
        replay.Item(answer(True, 1, False), answer(False, 10, False), False),  # false reject
    ]
    rows = {row.name: row for row in replay.score(items)}
    gate = rows["cascade, visible-tests gate"]
    assert (gate.correct, gate.escalated, gate.false_accepts, gate.false_rejects) == (2, 2, 1, 1)
    assert gate.cost == Decimal(24)
    keep = rows["cascade, visible tests, keep if none"]
    assert (keep.correct, keep.escalated, keep.cost) == (3, 1, Decimal(14))
    assert rows["gpt-3.5-turbo alone"].correct == 2
    assert rows["gpt-4 alone"].cost == Decimal(40)
    assert rows["oracle gate (uses labels; ceiling)"].correct == 4
    text = replay.table(replay.score(items))
    assert "cascade, visible-tests gate" in text
    assert "60.0%" in text


def test_measure_end_to_end_on_an_inline_record(
    bench: tuple[ModuleType, ModuleType], capsys: pytest.CaptureFixture[str]
) -> None:
    _, replay = bench
    prompt = 'def inc(x):\n    """Add one.\n    >>> inc(1)\n    2\n    """\n'

    def response(text: str, recorded: bool) -> dict[str, object]:
        usage = {"input_tokens": 50, "output_tokens": 20}
        return {"style": "run 1", "text": text, "recorded_pass": recorded, "usage": usage}

    record = {
        "id": "T/0",
        "question": prompt,
        "entry_point": "inc",
        "test": "def check(candidate):\n    assert candidate(5) == 6\n",
        "canonical_solution": "    return x + 1\n",
        "responses": {
            "gpt-3.5-turbo": [response("def inc(x):\n    return x * 2\n", False)],
            "gpt-4": [response("def inc(x):\n    return x + 1\n", True)],
        },
    }
    replay.measure([record], runs=1, workers=1)
    out = capsys.readouterr().out
    assert "1 with visible examples" in out
    assert "fails the visible examples of 0" in out
    assert "agree with the recorded result on 1 of 1 answers; differ: -" in out
    gate = next(line for line in out.splitlines() if line.startswith("cascade, visible-tests"))
    # x * 2 passes the visible inc(1) == 2 but not the hidden test: a false accept, kept.
    assert gate.split()[-6:] == ["0.0%", "0.0%-79.3%", "2.0%", "0.0%", "1", "0"]


def test_the_visible_examples_as_a_verify_command(
    bench: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    """What ``think eval``'s cascade runs as an item's gate: the examples after the prompt
    and the answer's code from THINK_ANSWER_CODE_FILE; with no examples, always a fail."""
    visible, _ = bench
    prefix = "from typing import List\n"
    command = visible.verify_command(prefix, visible.visible_examples(DOCTEST_PROMPT, "add"))
    empty = visible.verify_command(prefix, [])

    def verdict(command: str, code: str) -> bool:
        path = tmp_path / "answer.py"
        path.write_text(code)
        env = {**os.environ, "THINK_ANSWER_CODE_FILE": str(path)}
        done = subprocess.run(shlex.split(command), env=env, capture_output=True, timeout=60)
        return done.returncode == 0

    right = "def add(xs: List[int], k):\n    return [x + k for x in xs]\n"
    assert verdict(command, right)
    assert not verdict(command, "def add(xs: List[int], k):\n    return xs\n")
    assert not verdict(empty, right)


def test_eval_records_fence_the_answers_and_price_them(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    replay = importlib.import_module("open_eval_set")  # on the path: see bench
    assert replay.fenced("```py\nx = 1\n```") == "```py\nx = 1\n```"  # found as written
    assert replay.fenced("```python\nx = 1```") == "```python\nx = 1\n```"  # a stray fence
    assert replay.fenced("s = '```'") == "````python\ns = '```'\n````"
    record = {
        "id": "T/1",
        "question": 'def inc(x):\n    """Add one."""\n',
        "instruction": "Complete it.",
        "entry_point": "inc",
        "test": "def check(candidate):\n    assert candidate(1) == 2\n",
        "responses": {
            m: [{"style": "run 1", "text": "def inc(x):\n    return x + 1", "usage": u}]
            for m, u in (
                ("gpt-3.5-turbo", {"input_tokens": 1000, "output_tokens": 1000}),
                ("gpt-4", {"input_tokens": 1000, "output_tokens": 1000}),
            )
        },
    }
    (item,) = replay.eval_records([record])
    assert item["question"] == 'def inc(x):\n    """Add one."""\n\nComplete it.'
    assert (item["answer_kind"], item["code_prefix"]) == ("code", record["question"])
    assert "check(candidate)" not in item["verify_cmd"]  # the gate never holds the label
    cheap = item["responses"]["gpt-3.5-turbo"][0]
    assert cheap["text"] == "```python\ndef inc(x):\n    return x + 1\n```"
    assert cheap["usage"]["cost_usd"] == pytest.approx(0.002)  # $0.50 + $1.50 per million


def test_consistency_compares_outputs_on_the_examples_calls(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    visible, _ = bench
    consistency = importlib.import_module("open_consistency")  # on the path: see bench
    examples = visible.visible_examples(DOCTEST_PROMPT, "add")
    plus = consistency.outputs("def add(xs, k):\n    return [x + k for x in xs]\n", examples)
    also = consistency.outputs("def add(xs, k):\n    return list(map(k.__add__, xs))\n", examples)
    assert plus == also == "[2, 3]\n[]\n"  # the same outputs, whatever the expected ones
    raising = consistency.outputs("def add(xs, k):\n    raise ValueError\n", examples)
    assert raising == "raise ValueError\nraise ValueError\n"
    assert consistency.outputs("def add(xs, k):\n", examples) is None  # does not run
