"""The live view and the summary line, rendered on a fixed-size Rich capture console."""

from __future__ import annotations

import io
from decimal import Decimal

from rich.console import Console

from tests.ledger_support import make_call
from think import events
from think.cli.live_view import LiveState, LiveView, summary_line
from think.pricing import Cost
from think.usage import Usage


def console(width: int = 80) -> Console:
    return Console(
        file=io.StringIO(), width=width, height=24, force_terminal=True, color_system=None
    )


def run_record(**changes: object) -> events.RunRecord:
    base = events.RunRecord(
        id="0123456789abcdef",
        started_at="2026-11-23T10:00:00.000Z",
        prompt="what is 2+2?",
        strategy="single",
        status="ok",
        models=("openai:gpt-4o-mini",),
        max_cost_usd=None,
        duration_ms=1234,
        answer="4",
        answer_model="openai:gpt-4o-mini",
        cost=Cost(Decimal("0.000123"), "computed"),
        usage=Usage(input_tokens=12, output_tokens=5),
    )
    return events.RunRecord(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def render(state: LiveState, width: int = 80) -> str:
    target = console(width)
    target.print(state.status_line())
    assert isinstance(target.file, io.StringIO)
    return target.file.getvalue()


def test_status_line_shows_model_tokens_elapsed_and_cost_against_cap() -> None:
    state = LiveState()
    state.apply(events.CallStarted("r-001", "answer", "openai:gpt-4o-mini", 1, None))
    state.apply(events.BudgetUpdate(Decimal("0.01"), Decimal(0), Decimal("0.50")))
    state.apply(events.CallProgress("r-001", 42, Decimal("0.002")))
    text = render(state)
    assert "openai:gpt-4o-mini" in text
    assert "42 tok" in text
    assert "$0.012 of $0.50" in text
    assert "s " in text or text.rstrip().endswith("s")


def test_unknown_running_cost_is_shown_as_unknown_never_zero() -> None:
    state = LiveState()
    state.apply(events.CallStarted("r-001", "answer", "vllm:my-model", 1, None))
    state.apply(events.CallProgress("r-001", 10, None))
    assert "unknown" in render(state)
    assert "$0.00" not in render(state)


def test_live_view_shows_streamed_answer_when_stdout_is_a_terminal() -> None:
    target = console()
    view = LiveView(target, show_answer=True)
    view.state.apply(events.AnswerText("r-001", "The answer\nis 4."))
    rendered = console()
    rendered.print(view.render())
    assert isinstance(rendered.file, io.StringIO)
    out = rendered.file.getvalue()
    assert "The answer" in out
    assert "is 4." in out


def test_live_view_starts_and_stops_with_the_run() -> None:
    target = console()
    view = LiveView(target, show_answer=False)
    assert not view._live.is_started
    view(events.RunStarted(run_record(status="running")))
    assert view._live.is_started  # Rich's live display runs from the run's start ...
    view(events.CallStarted("r-001", "answer", "openai:gpt-4o-mini", 1, None))
    assert view._live.is_started
    assert "openai:gpt-4o-mini" in _rendered(view)  # ... showing the call in flight
    view(events.RunFinished(run_record()))
    assert not view._live.is_started  # and stops at its end
    assert not view._started


def _rendered(view: LiveView) -> str:
    shown = console()
    shown.print(view.render())
    assert isinstance(shown.file, io.StringIO)
    return shown.file.getvalue()


def test_summary_line() -> None:
    target = console(120)
    target.print(summary_line(run_record()))
    assert isinstance(target.file, io.StringIO)
    out = target.file.getvalue()
    assert out == "ok  openai:gpt-4o-mini  12+5 in+out tok  $0.00012  1.2s  run 01234567\n"
    assert "$0.00012" in out
    assert "1.2s" in out
    assert "run 01234567" in out


def test_summary_marks_estimated_and_unknown_costs() -> None:
    target = console(120)
    target.print(summary_line(run_record(cost=Cost(Decimal("0.001"), "estimated"))))
    target.print(summary_line(run_record(cost=Cost(None, "unknown"))))
    assert isinstance(target.file, io.StringIO)
    out = target.file.getvalue()
    assert "(estimated)" in out
    assert "unknown" in out


def test_priced_call_shows_zero_before_its_first_token_and_unpriced_shows_unknown() -> None:
    state = LiveState()
    state.apply(events.CallStarted("r-001", "answer", "openai:gpt-4o-mini", 1, None))
    assert "$0.00" in render(state)
    state = LiveState()
    state.apply(events.CallStarted("r-001", "answer", "x:y", 1, None, priced=False))
    assert "unknown" in render(state)


def test_an_unpriced_call_keeps_the_cost_unknown_after_it_finished() -> None:
    """The budget counts an unknown cost as 0; the view must not show that 0 as a price."""
    state = LiveState()
    state.apply(events.CallStarted("r1-1", "answer", "openai:gpt-9", 1, None, priced=False))
    state.apply(events.CallFinished(make_call(cost=Cost(None, "unknown"))))
    state.apply(events.BudgetUpdate(Decimal(0), Decimal(0), None))
    assert "unknown" in render(state)
    assert "$0.00" not in render(state)


def test_cascade_view_shows_timeline_samples_and_tally() -> None:
    view = LiveView(console(), show_answer=False)
    state = view.state
    state.apply(events.StageChanged("cheap", "openai:gpt-4o-mini"))
    state.apply(events.CallStarted("r-001", "cheap", "openai:gpt-4o-mini", 1, None))
    state.apply(events.VoteCast("r-001", "openai:gpt-4o-mini", "18", {"18": 1}, 1.0))
    state.apply(events.VoteCast("r-002", "openai:gpt-4o-mini", "20", {"18": 1, "20": 1}, 0.5))
    state.apply(events.VoteCast("r-003", "openai:gpt-4o-mini", "18", {"18": 2, "20": 1}, 0.67))
    state.apply(events.StageChanged("check"))
    state.apply(events.Decision(True, "disagreement: 2/4 agree (needs 3 of 4)"))
    state.apply(events.StageChanged("escalate", "openai:o4-mini"))
    target = console(100)
    target.print(view.render())
    assert isinstance(target.file, io.StringIO)
    lines = target.file.getvalue().splitlines()
    assert lines[0].startswith("cheap → check → escalate")
    assert "disagreement: 2/4 agree" in lines[0]
    assert any("#1 openai:gpt-4o-mini  → 18" in line for line in lines)
    assert any("#2 openai:gpt-4o-mini  → 20" in line for line in lines)
    tally = [line for line in lines if "█" in line]
    assert tally[0].strip().startswith("18")
    assert tally[0].count("█") == 2 * tally[1].count("█")
    assert lines[-1].startswith("● openai:gpt-4o-mini")


def test_summary_line_for_an_escalated_cascade() -> None:
    record = run_record(
        votes={"18": 2, "20": 1},
        agreement=2 / 3,
        escalated=True,
        answer_model="openai:o4-mini",
        strong_only_cost_usd=Decimal("0.004"),
    )
    assert summary_line(record, 200).plain == (
        "ok  openai:o4-mini  agreement 2/3  escalated  12+5 in+out tok  $0.00012  "
        "(strong alone $0.004)  1.2s  run 01234567"
    )
    # at 80 columns (the default) the least needed parts give way first: time, tokens, the
    # provider, the word "agreement"; never the cost, the comparison or the run id
    assert summary_line(record).plain == (
        "ok  o4-mini  2/3  escalated  $0.00012  (strong alone $0.004)  run 01234567"
    )
    for width in (60, 50, 40):
        line = summary_line(record, width).plain
        assert len(line) <= width or line.startswith("ok  o4-mini  $0.00012"), line
        assert "$0.00012" in line


def test_summary_flags_a_run_that_cost_more_than_the_strong_model_alone() -> None:
    record = run_record(
        votes={"18": 1, "20": 1},
        agreement=0.5,
        escalated=True,
        answer_model="openai:o4-mini",
        strong_only_cost_usd=Decimal("0.0001"),
    )
    line = summary_line(record)
    assert "more than the strong model alone ($0.0001)" in line.plain
    assert len(line.plain) <= 80
    (flag,) = [span for span in line.spans if "more than" in line.plain[span.start : span.end]]
    assert flag.style == "yellow"


def _rendered(view: LiveView, width: int = 60) -> str:
    target = Console(
        file=io.StringIO(), width=width, height=24, force_terminal=True, color_system="standard"
    )
    target.print(view.render())
    assert isinstance(target.file, io.StringIO)
    return target.file.getvalue()


def _thinking_view(*, show_reasoning: bool) -> LiveView:
    view = LiveView(console(60), show_answer=False, show_reasoning=show_reasoning)
    view.state.apply(events.CallStarted("r-001", "escalate", "openai:o4-mini", 1, None))
    lines = [f"step {number}: consider case {number}" for number in range(1, 10)]
    view.state.apply(events.ReasoningText("r-001", "\n".join(lines[:5]) + "\n"))
    view.state.apply(events.ReasoningText("r-001", "\n".join(lines[5:]) + " " + "x" * 70))
    return view


def test_reasoning_tail_is_shown_dim_while_the_model_thinks() -> None:
    out = _rendered(_thinking_view(show_reasoning=True))
    assert "step 9: consider case 9" in out
    assert "step 3:" not in out  # only the last lines
    assert "\x1b[2;3m" in out  # dim italic
    assert max(len(line) for line in out.splitlines()) <= 60 + 20  # wrapped to the width
    assert "thinking" in out


def test_hide_reasoning_shows_only_the_amount() -> None:
    out = _rendered(_thinking_view(show_reasoning=False))
    assert "step" not in out
    assert "thinking" in out
    assert "chars" in out


def test_reasoning_tail_disappears_when_the_call_ends() -> None:
    view = _thinking_view(show_reasoning=True)
    view.state.apply(events.CallProgress("r-001", 10, None))
    assert "step 9" in _rendered(view)
    view.state.calls["r-001"].status = "ok"
    assert "step 9" not in _rendered(view)


def _view_lines(view: LiveView, width: int, height: int) -> list[str]:
    target = Console(
        file=io.StringIO(), width=width, height=height, force_terminal=True, color_system=None
    )
    view.console = target
    target.print(view.render())
    assert isinstance(target.file, io.StringIO)
    return target.file.getvalue().splitlines()


def _busy_cascade(view: LiveView) -> None:
    state = view.state
    state.apply(events.StageChanged("cheap", "openai:gpt-4o-mini, needs 3 of 5"))
    state.apply(events.CallStarted("r-009", "cheap", "openai:gpt-4o-mini", 1, None))
    for number in range(1, 9):
        votes = {str(n): 1 for n in range(1, number + 1)}
        state.apply(events.VoteCast(f"r-{number:03}", "openai:gpt-4o-mini", str(number), votes, 0))
    state.apply(events.ReasoningText("r-009", "thinking about it " * 40))


def test_a_view_taller_than_the_terminal_drops_sample_rows_never_the_status_line() -> None:
    view = LiveView(console(), show_answer=False)
    _busy_cascade(view)
    tall = _view_lines(view, 80, 40)
    assert len(tall) > 12
    for height in (12, 8, 4, 2):
        lines = _view_lines(view, 80, height)
        assert len(lines) <= height, (height, lines)
        assert lines[0].startswith("cheap")  # the timeline
        assert lines[-1].startswith("● openai:gpt-4o-mini")  # the status line, cost and time
        assert "$0.00" in lines[-1]
    # the samples go first: at 12 rows the tally and the reasoning tail are still there
    twelve = _view_lines(view, 80, 12)
    assert any("█" in line for line in twelve)
    assert any("thinking about it" in line for line in twelve)
    assert sum("#" in line and "→" in line for line in twelve) < 8


def test_the_reasoning_tail_wraps_at_spaces_not_inside_words_or_numbers() -> None:
    state = LiveState()
    state.apply(events.CallStarted("r-001", "answer", "openai:o4-mini", 1, None))
    words = "the total is 123456789 apples and 987654321 pears " * 6
    state.apply(events.ReasoningText("r-001", words))
    tail = state.reasoning_tail(width=30, lines=20)
    assert tail is not None
    lines = tail.plain.splitlines()
    assert all(len(line) <= 30 for line in lines)
    tokens = set(words.split())
    assert all(token in tokens for line in lines for token in line.split()), lines


def test_the_cheap_stage_says_what_the_votes_need() -> None:
    view = LiveView(console(), show_answer=False)
    view.state.apply(events.StageChanged("cheap", "openai:gpt-4o-mini, needs 2 of 2"))
    view.state.apply(events.StageChanged("cheap", "openai:gpt-4o-mini, needs 2 of 2, then 3 of 5"))
    assert view.state.stages == ["cheap"]  # a repeated stage updates its detail
    (timeline,) = [line for line in _view_lines(view, 100, 24) if line.startswith("cheap")]
    assert "needs 2 of 2, then 3 of 5" in timeline
