"""How a judgement reads in a run's escalation reason: the verdicts that passed, the
threshold, and whether the judge could be read at all."""

from __future__ import annotations

import pytest

from think.strategies.judging import Judgement, read_verdict


@pytest.mark.parametrize(
    ("verdicts", "said"),
    [
        (("pass", "pass", "fail"), "2/3 verdicts pass, p=0.67 ≥ 0.66"),
        (
            ("pass", None, "fail"),
            "1/3 verdicts pass, p=0.33 < 0.66 (1 unreadable, counted as FAIL)",
        ),
        (
            (None, None, None),
            "0/3 verdicts pass, p=0.00 < 0.66: the judge wrote no readable VERDICT line "
            "(a weak --judge?)",
        ),
    ],
)
def test_the_reason_says_what_the_judge_said(verdicts: tuple[str | None, ...], said: str) -> None:
    passes = sum(v == "pass" for v in verdicts)
    judgement = Judgement(passes / len(verdicts), verdicts, "")
    assert judgement.describe(0.66) == said


def test_a_verdict_is_its_last_verdict_line() -> None:
    assert read_verdict("Fine.\nVERDICT: FAIL\n... on reflection, VERDICT: PASS") == "pass"
    assert read_verdict("**Verdict:** fail") == "fail"
    assert read_verdict("Looks fine to me.") is None
