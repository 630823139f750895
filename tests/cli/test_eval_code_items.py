"""``think eval`` on code items: each answer's code is scored by the item's hidden test (run
in a subprocess, with a timeout), and the cascade gates on the item's own ``verify_cmd``,
which never sees the hidden test."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import assert_one_error_line, run_cli

SECRET = "HIDDEN-TEST-MARKER-7f3a"
RIGHT = "```python\ndef add(a, b):\n    return a + b\n```"
WRONG = "Here you are:\n```python\ndef add(a, b):\n    return a - b\n```"
TEST = f"def check(candidate):\n    # {SECRET}\n    assert candidate(2, 3) == 5\n"
SPY = """import json, os, sys
code = open(os.environ["THINK_ANSWER_CODE_FILE"], encoding="utf-8").read()
seen = {"env": dict(os.environ), "stdin": sys.stdin.read(), "code": code}
with open(sys.argv[1], "a", encoding="utf-8") as handle:
    handle.write(json.dumps(seen) + "\\n")
sys.exit(0 if "a + b" in code else 1)
"""


def usage(cost: float) -> dict[str, float]:
    return {"input_tokens": 40, "output_tokens": 20, "cost_usd": cost}


def item(number: int, cheap: str, **fields: Any) -> dict[str, Any]:
    """A code item whose cheap model answers ``cheap`` (5 times, for vote) and whose strong
    model answers right."""
    return {
        "id": f"code/{number}",
        "question": f"Task {number}: write add(a, b), returning the sum.",
        "answer_kind": "code",
        "entry_point": "add",
        "test": TEST,
        "responses": {
            "small": [{"text": cheap, "usage": usage(0.001)}] * 5,
            "big": [{"text": RIGHT, "usage": usage(0.01)}],
        },
        **fields,
    }


@pytest.fixture
def spy(tmp_path: Path) -> tuple[str, Path]:
    """A verify command that records what it was shown, and the file it records to."""
    script = tmp_path / "spy.py"
    script.write_text(SPY)
    seen = tmp_path / "seen.jsonl"
    return shlex.join([sys.executable, str(script), str(seen)]), seen


def evaluate(
    rows: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    """The eval's JSON document and its per-item results by (setting, item id)."""
    dataset = tmp_path / "code.jsonl"
    dataset.write_text("".join(json.dumps(row) + "\n" for row in rows))
    results = tmp_path / "results.jsonl"
    argv = ["eval", str(dataset), "--cheap", "replay:small", "--strong", "replay:big"]
    done = run_cli([*argv, "--results", str(results), "--json"], capsys, monkeypatch, b"")
    assert done.code == 0, done.err
    kept = [json.loads(line) for line in results.read_text().splitlines()]
    return done.json, {(r["setting"], r["item_id"]): r for r in kept}


def test_code_items_are_scored_by_their_hidden_test(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spy: tuple[str, Path],
) -> None:
    command, _ = spy
    rows = [
        item(1, RIGHT, verify_cmd=command),
        item(2, WRONG, verify_cmd=command),
        item(3, RIGHT, test="def check(candidate):\n    while True:\n        pass\n", timeout=0.5),
        item(4, WRONG, test=None, score_cmd=f"{shlex.quote(sys.executable)} -c 'import sys'"),
    ]
    document, results = evaluate(rows, tmp_path, capsys, monkeypatch)
    cheap = {key[1]: value for key, value in results.items() if key[0] == "single-cheap"}
    assert cheap["code/1"]["correct"] is True
    assert cheap["code/1"]["detail"] == "hidden test passed"
    assert cheap["code/2"]["correct"] is False
    assert cheap["code/2"]["detail"].startswith("hidden test failed (exit 1)")
    assert "AssertionError" in cheap["code/2"]["detail"]
    assert cheap["code/3"]["correct"] is False
    assert cheap["code/3"]["detail"] == "hidden test timed out after 0.5s"
    assert cheap["code/4"]["correct"] is True  # a score command that always exits 0
    assert cheap["code/4"]["detail"] == "score command passed"
    rows_by_name = {row["strategy"]: row for row in document["strategies"]}
    assert rows_by_name["single-cheap"]["accuracy"] == pytest.approx(0.5)
    assert rows_by_name["single-strong"]["accuracy"] == pytest.approx(0.75)  # 3 hangs


def test_the_cascade_gates_on_the_items_verify_cmd_and_never_sees_the_hidden_test(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spy: tuple[str, Path],
) -> None:
    command, seen = spy
    rows = [item(1, RIGHT, verify_cmd=command), item(2, WRONG, verify_cmd=command)]
    document, results = evaluate(rows, tmp_path, capsys, monkeypatch)
    right, wrong = results["cascade", "code/1"], results["cascade", "code/2"]
    assert (right["escalated"], right["correct"]) == (False, True)  # kept: the check passed
    assert (wrong["escalated"], wrong["correct"]) == (True, True)  # rejected, gpt-4 right
    cascade = next(row for row in document["strategies"] if row["strategy"] == "cascade")
    assert cascade["mean_cost_usd"] == pytest.approx((0.001 + 0.011) / 2)
    checks = [json.loads(line) for line in seen.read_text().splitlines()]
    assert sorted(c["code"].strip() for c in checks) == [
        "def add(a, b):\n    return a + b",
        "def add(a, b):\n    return a - b",
    ]  # only the cascade's gate ran it: the other settings have no verifier
    for check in checks:
        shown = json.dumps(check)
        assert SECRET not in shown
        assert "check(candidate)" not in shown
        assert check["stdin"] in (RIGHT, WRONG)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"test": None}, "code.jsonl:2: a code item needs a hidden test"),
        ({"score_cmd": "true"}, "code.jsonl:2: a code item needs a hidden test"),
        ({"timeout": "soon"}, "code.jsonl:2: timeout must be a positive number"),
        ({"entry_point": "not a name"}, "code.jsonl:2: entry_point must be a Python name"),
        ({"verify_cmd": "no-such-checker --x"}, "code.jsonl:2: verify_cmd: no-such-checker is"),
    ],
)
def test_a_bad_code_item_is_one_error_line_naming_its_line(
    fields: dict[str, Any],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dataset = tmp_path / "code.jsonl"
    rows = [item(1, RIGHT), {**item(2, RIGHT), **fields}]
    dataset.write_text("".join(json.dumps(row) + "\n" for row in rows))
    argv = ["eval", str(dataset), "--cheap", "replay:small", "--strong", "replay:big"]
    done = run_cli(argv, capsys, monkeypatch, b"")
    assert done.code == 2
    assert_one_error_line(done.err, message)
