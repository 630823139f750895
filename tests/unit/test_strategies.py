"""Strategies through the real run orchestration, with a scripted provider."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes.scripted_provider import Reply, ScriptedProvider
from think import events
from think.model_ref import ModelRef
from think.pricing import ModelPrice, PriceOverride
from think.providers.base import ChatRequest, ResponseStarted, StreamEvent
from think.run import Query, execute
from think.strategies.base import QueryOptions, Strategy
from think.strategies.cascade import Cascade, CascadePolicy
from think.strategies.single import Single
from think.strategies.tally import Tally
from think.strategies.verifiers import CommandVerifier
from think.strategies.vote import Vote

CHEAP = ModelRef("fake", "cheap")
STRONG = ModelRef("fake", "strong")
OPTIONS = QueryOptions(max_tokens=100, temperature=None, system=None)


def price(input_mtok: float = 1.0, output_mtok: float = 2.0) -> ModelPrice:
    return ModelPrice.from_override(PriceOverride(input_mtok=input_mtok, output_mtok=output_mtok))


def run(
    strategy: Strategy,
    provider: ScriptedProvider,
    *,
    max_cost: Decimal | None = None,
    prices: dict[str, ModelPrice] | None = None,
) -> tuple[events.RunRecord, list[events.Event]]:
    seen: list[events.Event] = []
    table = prices or {"cheap": price(1, 2), "strong": price(30, 60)}
    query = Query("What is 2+2?", strategy, OPTIONS, max_cost)
    record = asyncio.run(
        execute(query, seen.append, lambda ref: table.get(ref.model), lambda name: provider)
    )
    return record, seen


def test_tally_plurality_ties_go_to_the_first_answer() -> None:
    tally = Tally()
    for key in ("5", "4", "4", "5", None):
        tally.add(key)
    assert tally.plurality() == ("5", 2)
    assert tally.agreement() == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("votes", "threshold", "maximum", "verdict"),
    [
        (["4", "4", "4"], 0.75, 4, "accept"),
        (["4", "4"], 0.75, 4, None),
        (["4", "5", "6"], 0.75, 4, "reject"),
        (["4", "5"], 0.75, 4, None),
        (["4", "4", "5", "5"], 0.5, 4, "accept"),
        ([None, None, None], 0.75, 4, "reject"),
        (["4", "4"], 1.0, 2, "accept"),
    ],
)
def test_tally_decides_as_soon_as_the_outcome_is_certain(
    votes: list[str | None], threshold: float, maximum: int, verdict: str | None
) -> None:
    tally = Tally()
    for vote in votes:
        tally.add(vote)
    assert tally.decided(threshold, maximum) == verdict


@pytest.mark.parametrize(
    ("votes", "needed", "verdict"),
    [
        (["4"], 2, None),
        (["4", "4"], 2, "accept"),
        (["4", "4", "5"], 2, "accept"),  # only the opening samples count
        (["4", "5", "4"], 2, "reject"),
        (["4", None], 2, "reject"),
        (["B", "B"], 3, None),
    ],
)
def test_unanimity_looks_at_the_opening_samples_in_order(
    votes: list[str | None], needed: int, verdict: str | None
) -> None:
    tally = Tally()
    for vote in votes:
        tally.add(vote)
    assert tally.unanimous(needed) == verdict


def test_vote_takes_the_plurality() -> None:
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 4.", "The answer is 5.", "4", "", "The answer is 4"])
    record, seen = run(Vote(CHEAP, 5), provider)
    assert record.final_answer == "4"
    assert record.votes == {"4": 3, "5": 1}
    assert record.agreement == pytest.approx(0.6)
    assert [e.answer for e in seen if isinstance(e, events.VoteCast)].count("4") == 3
    assert all(r.temperature == pytest.approx(0.7) for r in provider.requests)


def test_cascade_accepts_agreeing_cheap_answers_without_escalating() -> None:
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 4."] * 3)
    record, seen = run(Cascade(CHEAP, STRONG), provider)
    assert not record.escalated
    assert record.escalation_reason == "accepted: 3/3 agree"
    assert record.answer_model == "fake:cheap"
    assert record.calls == 3
    assert record.stages == ("cheap", "check")
    assert record.strong_only_cost_usd is not None
    assert record.strong_only_cost_usd > 0
    changes = [e for e in seen if isinstance(e, events.StageChanged)]
    assert [e.stage for e in changes] == ["cheap", "cheap", "check"]
    # the first answer's kind known, the cheap stage says what the votes need
    assert changes[1].detail == "fake:cheap, needs 2 of 2, then 3 of 5"


def test_cascade_escalates_on_disagreement_in_reasoning_mode() -> None:
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 4.", "The answer is 5.", "The answer is 6."])
    provider.script("strong", ["Carefully: the answer is 4."])
    record, _ = run(Cascade(CHEAP, STRONG), provider)
    assert record.escalated
    assert record.escalation_reason is not None
    assert record.escalation_reason == "disagreement: 1/2 agree (needs 2 of 2, then 3 of 5)"
    assert record.calls == 3  # two cheap samples, then the strong model at once
    assert record.answer_model == "fake:strong"
    assert record.final_answer == "4"
    strong_request = provider.requests[-1]
    assert strong_request.model == "strong"
    assert "step by step" in strong_request.messages[0].content  # no native mode: CoT
    assert strong_request.max_tokens == OPTIONS.max_tokens * 4


def test_closed_answers_need_three_agreeing_samples_open_ones_two() -> None:
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is (B).", "Answer: B", "option B"])
    record, _ = run(Cascade(CHEAP, STRONG), provider)
    assert record.escalation_reason == "accepted: 3/3 agree"  # a choice: chance agreement
    assert record.final_answer == "B"
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is (B).", "Answer: B", "The answer is (C)."])
    provider.script("strong", ["The answer is (C)."])
    record, _ = run(Cascade(CHEAP, STRONG), provider)
    assert record.escalation_reason == "disagreement: 2/3 agree (needs 3 of 3)"
    assert record.final_answer == "C"
    provider = ScriptedProvider()
    provider.script("cheap", ["Yes.", "yes", "Yes, it is."])
    record, _ = run(Cascade(CHEAP, STRONG), provider)
    assert record.escalation_reason == "accepted: 3/3 agree"


def test_a_sample_without_an_answer_in_the_opening_pair_escalates() -> None:
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 4.", "I'm sorry, I cannot answer that."])
    provider.script("strong", ["The answer is 4."])
    record, _ = run(Cascade(CHEAP, STRONG), provider)
    assert record.escalated
    assert record.escalation_reason == (
        "disagreement: 1/2 agree, 1 without an answer (needs 2 of 2, then 3 of 5)"
    )


@pytest.mark.parametrize(
    ("cheap", "reason", "final"),
    [
        (["4", "4", "5", "4"], "accepted: 3/4 agree", "4"),
        (["4", "4", "5", "5", "4"], "accepted: 3/5 agree", "4"),
        (["4", "4", "I cannot tell.", "4"], "accepted: 3/4 agree", "4"),
        (["4", "4", "5", "5", "5"], "disagreement: 2/5 agree (needs 2 of 2, then 3 of 5)", "9"),
        (["4", "4", "5", "6", "7"], "disagreement: 2/5 agree (needs 2 of 2, then 3 of 5)", "9"),
        (
            ["4", "4", "", "", "5"],
            "disagreement: 2/5 agree, 2 without an answer (needs 2 of 2, then 3 of 5)",
            "9",
        ),
    ],
)
def test_an_agreeing_pair_is_confirmed_by_three_votes_of_five(
    cheap: list[str], reason: str, final: str
) -> None:
    provider = ScriptedProvider()
    provider.script("cheap", [f"The answer is {a}" if a[:1].isdigit() else a for a in cheap])
    provider.script("strong", ["The answer is 9."])
    record, _ = run(Cascade(CHEAP, STRONG), provider)
    assert record.escalation_reason == reason
    assert record.final_answer == final
    assert len(provider.requests) == len(cheap) + record.escalated


def test_the_screen_covers_the_whole_opening_batch_whatever_its_order() -> None:
    for order in (["4", "4", "5", "4"], ["4", "5", "4", "4"]):
        provider = ScriptedProvider()
        provider.script("cheap", [f"The answer is {a}." for a in order])
        provider.script("strong", ["The answer is 4."])
        record, _ = run(Cascade(CHEAP, STRONG, CascadePolicy(initial=4)), provider)
        assert record.escalation_reason == "disagreement: 3/4 agree (needs 4 of 4)"


def test_the_plan_expects_the_pair_and_usually_a_confirming_third() -> None:
    assert CascadePolicy().expected_samples == pytest.approx(2.7)
    assert CascadePolicy(initial=4).expected_samples == pytest.approx(4.0)
    assert CascadePolicy(2, 0.75).expected_samples == 2.0


def test_an_agreement_share_switches_to_k_of_m() -> None:
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 4.", "The answer is 5.", "4", "The answer is 4"])
    record, _ = run(Cascade(CHEAP, STRONG, CascadePolicy(2, 0.75, 4)), provider)
    assert record.escalation_reason == "accepted: 3/4 agree"
    assert record.calls == 4


def test_cascade_uses_native_reasoning_effort_when_the_model_has_it() -> None:
    provider = ScriptedProvider(native_reasoning=True)
    provider.script("cheap", ["4", "5", "6"])
    provider.script("strong", ["The answer is 4."])
    run(Cascade(CHEAP, STRONG), provider)
    assert provider.requests[-1].effort == "medium"
    assert provider.requests[-1].temperature is None


@pytest.mark.parametrize(("floor", "sent"), [(0, 400), (2048, 2048)])
def test_native_reasoning_gets_room_to_think(floor: int, sent: int) -> None:
    """Reasoning is output too: the limit is multiplied as for chain of thought (x4 for
    medium), and raised to the provider's minimum for its native mode (Anthropic: 2048)."""
    provider = ScriptedProvider(native_reasoning=True, min_reasoning_max_tokens=floor)
    provider.script("cheap", ["4", "5", "6"])
    provider.script("strong", ["The answer is 4."])
    run(Cascade(CHEAP, STRONG), provider)
    assert provider.requests[-1].max_tokens == sent


def test_cascade_escalates_when_nothing_is_extractable_or_the_cheap_model_fails() -> None:
    provider = ScriptedProvider()
    provider.script("cheap", ["", "", ""])
    provider.script("strong", ["The answer is 4."])
    record, _ = run(Cascade(CHEAP, STRONG, CascadePolicy(3, 1.0, 3)), provider)
    assert record.escalation_reason == "no extractable answer in the cheap samples"
    provider = ScriptedProvider()
    provider.script("cheap", [Reply("", error="boom")] * 3)
    provider.script("strong", ["The answer is 4."])
    record, _ = run(Cascade(CHEAP, STRONG, CascadePolicy(3, 1.0, 3)), provider)
    assert record.escalation_reason is not None
    assert record.escalation_reason.startswith("cheap model error")
    assert record.final_answer == "4"


def test_verify_command_rejection_escalates(tmp_path: Path) -> None:
    script = tmp_path / "check.py"
    script.write_text("import sys\nsys.exit(0 if '42' in sys.stdin.read() else 1)\n")
    verifier = CommandVerifier((sys.executable, str(script)), timeout=10)
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 4."] * 3)
    provider.script("strong", ["The answer is 42."])
    record, _ = run(Cascade(CHEAP, STRONG, verifier=verifier), provider)
    assert record.escalated
    assert record.escalation_reason == "verifier rejected: verify command rejected (exit 1)"
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 42."] * 3)
    record, _ = run(Cascade(CHEAP, STRONG, verifier=verifier), provider)
    assert not record.escalated


def test_escalation_that_does_not_fit_the_budget_keeps_the_best_cheap_answer() -> None:
    provider = ScriptedProvider()
    provider.script("cheap", ["The answer is 4.", "The answer is 5.", "The answer is 6."])
    record, _ = run(Cascade(CHEAP, STRONG), provider, max_cost=Decimal("0.002"))
    assert record.status == "budget_exhausted"
    assert record.escalated
    assert record.answer is not None
    assert record.cost is not None
    assert record.cost.usd is not None
    assert record.cost.usd <= Decimal("0.002")


@settings(max_examples=60, deadline=None)
@given(
    cheap_in=st.floats(0.01, 50),
    cheap_out=st.floats(0.01, 100),
    strong_in=st.floats(0.01, 100),
    strong_out=st.floats(0.01, 200),
    cap=st.decimals(Decimal("0.00001"), Decimal("0.05"), places=6),
    outputs=st.lists(st.integers(0, 400), min_size=8, max_size=8),
    answers=st.lists(st.sampled_from(["4", "5", "6", ""]), min_size=4, max_size=4),
)
def test_recorded_spend_never_exceeds_the_cap(
    cheap_in: float,
    cheap_out: float,
    strong_in: float,
    strong_out: float,
    cap: Decimal,
    outputs: list[int],
    answers: list[str],
) -> None:
    provider = ScriptedProvider()
    provider.script(
        "cheap",
        [Reply(f"The answer is {a}.", 30, o) for a, o in zip(answers, outputs, strict=False)],
    )
    provider.script("strong", [Reply("The answer is 4.", 30, outputs[-1])])
    prices = {"cheap": price(cheap_in, cheap_out), "strong": price(strong_in, strong_out)}
    record, seen = run(Cascade(CHEAP, STRONG), provider, max_cost=cap, prices=prices)
    calls = [e.call for e in seen if isinstance(e, events.CallFinished)]
    spent = sum((c.cost.usd or Decimal(0) for c in calls), Decimal(0))
    assert spent <= cap
    assert record.status in ("ok", "budget_exhausted")


@settings(max_examples=60, deadline=None)
@given(
    cheap_in=st.floats(0.01, 50),
    cheap_out=st.floats(0.01, 100),
    strong_in=st.floats(0.01, 100),
    strong_out=st.floats(0.01, 200),
    cap=st.decimals(Decimal("0.00001"), Decimal("0.05"), places=6),
    outputs=st.lists(st.integers(0, 400), min_size=5, max_size=5),
    verdicts=st.lists(
        st.sampled_from(["VERDICT: PASS", "VERDICT: FAIL", "?"]), min_size=3, max_size=3
    ),
)
def test_recorded_spend_never_exceeds_the_cap_with_judge_calls(
    cheap_in: float,
    cheap_out: float,
    strong_in: float,
    strong_out: float,
    cap: Decimal,
    outputs: list[int],
    verdicts: list[str],
) -> None:
    """An open answer: one cheap answer, three judge verdicts (separate requests: the
    scripted provider has no ``n``), maybe an escalation; all under --max-cost."""
    provider = ScriptedProvider()
    essay = "A summary of the notes.\n\nIt has several lines and no final-answer line."
    provider.script("cheap", [Reply(essay, 10, outputs[0])])
    provider.script("cheap", [Reply(v, 10, o) for v, o in zip(verdicts, outputs[1:4], strict=True)])
    provider.script("strong", [Reply("The strong summary.", 10, outputs[4])])
    prices = {"cheap": price(cheap_in, cheap_out), "strong": price(strong_in, strong_out)}
    record, seen = run(Cascade(CHEAP, STRONG), provider, max_cost=cap, prices=prices)
    calls = [e.call for e in seen if isinstance(e, events.CallFinished)]
    spent = sum((c.cost.usd or Decimal(0) for c in calls), Decimal(0))
    assert spent <= cap
    assert record.status in ("ok", "budget_exhausted")
    if any(c.stage == "verify" for c in calls):
        assert record.answer_shape == "open"
        assert record.final_answer is None


def test_a_request_that_fails_before_it_is_sent_is_no_ok_call() -> None:
    """A failure that is not the provider's (a bug, text no encoder takes) before anything
    was sent: the call is recorded as an error at $0, never as ok with a cost."""

    class Unsendable(ScriptedProvider):
        async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
            "\udce9".encode()  # raises UnicodeEncodeError, as an HTTP body encoder did
            yield ResponseStarted()

    seen: list[events.Event] = []
    query = Query("What is 2+2?", Single(CHEAP), OPTIONS, None)
    with pytest.raises(UnicodeEncodeError):
        asyncio.run(execute(query, seen.append, lambda ref: price(), lambda name: Unsendable()))
    (call,) = [e.call for e in seen if isinstance(e, events.CallFinished)]
    assert call.status == "error"
    assert call.cost.usd == 0
    assert "surrogates not allowed" in (call.error or "")
    (finished,) = [e.run for e in seen if isinstance(e, events.RunFinished)]
    assert finished.status == "error"
