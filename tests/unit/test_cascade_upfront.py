"""The cascade as ``think batch --mode batch`` runs it (``upfront``: every cheap sample drawn at
once, one batch round) decides exactly as the sequential cascade does on the same samples."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes.scripted_provider import ScriptedProvider
from think import events
from think.model_ref import ModelRef
from think.pricing import ModelPrice, PriceOverride
from think.run import Query, execute
from think.strategies.answers import parse_answer_format
from think.strategies.base import QueryOptions
from think.strategies.cascade import Cascade, CascadePolicy

CHEAP = ModelRef("fake", "cheap")
STRONG = ModelRef("fake", "strong")
PRICES = {
    "cheap": ModelPrice.from_override(PriceOverride(input_mtok=1, output_mtok=2)),
    "strong": ModelPrice.from_override(PriceOverride(input_mtok=30, output_mtok=60)),
}


def run(cascade: Cascade, cheap: list[str], answer_format: str) -> tuple[events.RunRecord, int]:
    provider = ScriptedProvider()
    provider.script("cheap", cheap)
    provider.script("strong", ["The answer is 9."])
    options = QueryOptions(
        max_tokens=100,
        temperature=None,
        system=None,
        answer_format=parse_answer_format(answer_format),
    )
    query = Query("What is 2+2?", cascade, options, None)
    record = asyncio.run(
        execute(query, lambda _: None, lambda ref: PRICES.get(ref.model), lambda _: provider)
    )
    return record, len(provider.requests)


ANSWER = st.sampled_from(["The answer is 4.", "The answer is 5.", "The answer is 6.", "no idea"])


@settings(max_examples=150, deadline=None)
@given(
    cheap=st.lists(ANSWER, min_size=5, max_size=5),
    initial=st.integers(1, 3),
    agreement=st.sampled_from([None, 0.5, 0.75]),
    answer_format=st.sampled_from(["auto", "number"]),
)
def test_upfront_decides_as_the_sequential_draws_do(
    cheap: list[str], initial: int, agreement: float | None, answer_format: str
) -> None:
    policy = CascadePolicy(initial=initial, agreement=agreement)
    sequential, asked = run(Cascade(CHEAP, STRONG, policy), cheap, answer_format)
    upfront, asked_upfront = run(Cascade(CHEAP, STRONG, policy, upfront=True), cheap, answer_format)
    assert upfront.escalated == sequential.escalated
    assert upfront.escalation_reason == sequential.escalation_reason
    assert upfront.final_answer == sequential.final_answer
    assert upfront.answer == sequential.answer
    assert upfront.votes == sequential.votes
    # it asks for every sample the rule may need, at once: never fewer than the sequence
    assert asked_upfront == policy.most_samples + upfront.escalated
    assert asked_upfront >= asked


def test_an_open_answer_is_judged_on_the_first_sample() -> None:
    cascade = Cascade(CHEAP, STRONG, upfront=True)
    summary = (
        "The notes leave three questions open.\n\n- Who owns the budget?\n"
        "- When does the pilot start?\n- Which team reviews the results?"
    )
    record, _ = run(cascade, [summary] * 5 + ["VERDICT: PASS"] * 3, "auto")
    assert record.answer_shape == "open"
    assert record.answer == summary
