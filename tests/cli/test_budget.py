"""The budget governor: ``--max-cost`` is never exceeded.

Unit and property tests of :class:`think.budget.Budget` and of how a call's worst case is made
to fit (:func:`think.calls._affordable`), then end to end through the CLI and the loopback
server with a configured price, checking the ledger's recorded cost and the output-token
limit the server received.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.cli_support import MODEL, calls, run_cli, runs, use_server
from tests.fakes.openai_server import FakeOpenAIServer, SseEvents
from think.budget import Budget, Reservation
from think.calls import MIN_OUTPUT_TOKENS, _affordable
from think.errors import BudgetExhausted, ExitCode
from think.pricing import ModelPrice, PriceOverride
from think.providers.base import ChatRequest, Message

D = Decimal


# ----------------------------------------------------------------------------------------
# Budget


def test_uncapped_budget_fits_everything() -> None:
    budget = Budget(None)
    assert budget.remaining is None
    assert budget.fits(D("1e9"))
    unknown = budget.reserve(None, "openai:x")
    assert unknown.amount == 0
    big = budget.reserve(D("5"), "openai:x")
    assert budget.reserved == 5
    assert budget.settle(big, D("2")) == 2
    assert budget.settle(unknown, None) == 0
    assert (budget.spent, budget.reserved) == (2, 0)


def test_reserve_and_settle() -> None:
    budget = Budget(D("1.00"))
    first = budget.reserve(D("0.40"), "a")
    second = budget.reserve(D("0.60"), "b")
    assert budget.remaining == 0
    assert budget.fits(D(0))
    assert not budget.fits(D("0.000001"))
    assert budget.settle(first, D("0.10")) == D("0.10")
    assert budget.remaining == D("0.30")
    assert (budget.spent, budget.reserved) == (D("0.10"), D("0.60"))
    assert budget.settle(second, None) == D("0.60")  # unknown cost: charge the reservation
    assert (budget.spent, budget.reserved, budget.remaining) == (D("0.70"), 0, D("0.30"))


def test_settling_twice_changes_nothing() -> None:
    budget = Budget(D(1))
    reservation = budget.reserve(D("0.5"), "a")
    budget.settle(reservation, D("0.2"))
    assert budget.settle(reservation, D("0.4")) == 0
    assert (budget.spent, budget.reserved) == (D("0.2"), 0)


def test_a_call_that_does_not_fit_is_refused_and_nothing_changes() -> None:
    budget = Budget(D("0.01"))
    budget.reserve(D("0.006"), "a")
    with pytest.raises(BudgetExhausted) as info:
        budget.reserve(D("0.005"), "openai:gpt-4o-mini")
    message = str(info.value)
    assert message == (
        "budget exhausted: openai:gpt-4o-mini could cost up to $0.005 but only $0.004 "
        "of $0.01 is left"
    )
    assert (budget.spent, budget.reserved) == (0, D("0.006"))


def test_tiny_cap_is_written_out_in_the_message() -> None:
    with pytest.raises(BudgetExhausted, match=r"of \$0\.0000001 is left"):
        Budget(D("1E-7")).reserve(D("0.001"), "m")


def test_unknown_price_does_not_fit_a_capped_budget() -> None:
    with pytest.raises(
        BudgetExhausted, match=r'openai:x is not in the price catalogue.*\[prices\."openai:x"\]'
    ):
        Budget(D(1)).reserve(None, "openai:x")


def test_zero_cap_still_allows_free_calls() -> None:
    budget = Budget(D(0))
    free = budget.reserve(D(0), "local:smollm2")
    budget.settle(free, D(0))
    with pytest.raises(BudgetExhausted):
        budget.reserve(D("0.0000001"), "openai:x")


money = st.decimals(min_value=0, max_value=10, places=6, allow_nan=False, allow_infinity=False)


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[str, Decimal, float]]:
    ops = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(["reserve", "reserve", "settle", "settle_unknown"]))
        ops.append((kind, draw(money), draw(st.floats(0, 1))))
    return ops


@given(cap=money, ops=operations(), pick=st.randoms(use_true_random=False))
def test_spent_never_exceeds_the_cap(
    cap: Decimal, ops: list[tuple[str, Decimal, float]], pick: object
) -> None:
    import random

    assert isinstance(pick, random.Random)
    budget = Budget(cap)
    outstanding: list[Reservation] = []
    for kind, amount, fraction in ops:
        if kind == "reserve":
            before = (budget.spent, budget.reserved)
            fits = amount <= cap - budget.spent - budget.reserved
            if fits:
                outstanding.append(budget.reserve(amount, "m"))
            else:
                with pytest.raises(BudgetExhausted):
                    budget.reserve(amount, "m")
                assert (budget.spent, budget.reserved) == before
        elif outstanding:
            reservation = outstanding.pop(pick.randrange(len(outstanding)))
            # The actual cost of a call never exceeds what was reserved for it.
            actual = None if kind == "settle_unknown" else reservation.amount * D(str(fraction))
            actual = None if actual is None else min(actual, reservation.amount)
            budget.settle(reservation, actual)
        assert budget.reserved >= 0
        assert budget.spent + budget.reserved <= cap
        assert budget.spent <= cap
        assert budget.remaining == cap - budget.spent - budget.reserved
    for reservation in outstanding:
        budget.settle(reservation, reservation.amount)
    assert budget.reserved == 0
    assert budget.spent <= cap


# ----------------------------------------------------------------------------------------
# Making a call fit (shrinking its output limit)


def price(input_mtok: float, output_mtok: float) -> ModelPrice:
    return ModelPrice.from_override(PriceOverride(input_mtok=input_mtok, output_mtok=output_mtok))


def request(max_tokens: int, n: int = 1) -> ChatRequest:
    return ChatRequest("gpt-4o-mini", (Message("user", "hi"),), max_tokens=max_tokens, n=n)


def test_a_call_that_fits_is_not_changed() -> None:
    budget = Budget(D(1))
    req, reservation = _affordable(budget, price(1, 2), 100, request(1000), "m")
    assert req.max_tokens == 1000
    assert reservation.amount == D("0.0021")  # 100 x $1/M + 1000 x $2/M


def test_output_limit_is_shrunk_to_fit() -> None:
    budget = Budget(D("0.05"))
    req, reservation = _affordable(budget, price(1000, 1000), 10, request(1024), "m")
    assert req.max_tokens == 40  # (0.05 - 10 x 0.001) / 0.001
    assert reservation.amount == D("0.05")


def test_too_little_room_for_output_is_refused() -> None:
    budget = Budget(D("0.02"))
    with pytest.raises(BudgetExhausted):
        _affordable(budget, price(1000, 1000), 10, request(1024), "m")
    assert budget.reserved == 0


def test_a_reasoning_request_is_not_shrunk_below_its_floor() -> None:
    # Without a floor the same call shrinks to 40 tokens (test_output_limit_is_shrunk_to_fit);
    # a provider that needs 100 for its reasoning mode would raise it back: refuse instead.
    with pytest.raises(BudgetExhausted):
        _affordable(Budget(D("0.05")), price(1000, 1000), 10, request(1024), "m", floor=100)
    req, reservation = _affordable(
        Budget(D("0.2")), price(1000, 1000), 10, request(1024), "m", floor=100
    )
    assert req.max_tokens == 190
    assert reservation.amount == D("0.2")


def test_unknown_price_is_fine_without_a_cap() -> None:
    req, reservation = _affordable(Budget(None), None, 10, request(50), "m")
    assert (req.max_tokens, reservation.amount) == (50, 0)


@given(
    input_mtok=st.floats(0, 200, allow_nan=False),
    output_mtok=st.floats(0.01, 800, allow_nan=False),
    input_tokens=st.integers(0, 50_000),
    max_tokens=st.integers(1, 32_000),
    n=st.integers(1, 8),
    cap=st.decimals(min_value=0, max_value=2, places=7),
    spent=st.decimals(min_value=0, max_value=1, places=7),
)
def test_affordable_never_reserves_more_than_is_left(
    input_mtok: float,
    output_mtok: float,
    input_tokens: int,
    max_tokens: int,
    n: int,
    cap: Decimal,
    spent: Decimal,
) -> None:
    assume(spent <= cap)
    model_price = price(input_mtok, output_mtok)
    budget = Budget(cap)
    budget.spent = spent
    left = cap - spent
    original = request(max_tokens, n)
    try:
        req, reservation = _affordable(budget, model_price, input_tokens, original, "m")
    except BudgetExhausted:
        assert budget.reserved == 0
        # Refused only when not even a useful answer (MIN_OUTPUT_TOKENS + 1 per choice) fits.
        smallest = min(max_tokens, MIN_OUTPUT_TOKENS + 1)
        assert model_price.worst_case(input_tokens, smallest * n) > left
        return
    assert reservation.amount == budget.reserved
    assert reservation.amount == model_price.worst_case(input_tokens, req.max_tokens * n)
    assert reservation.amount <= left
    assert req.max_tokens <= max_tokens
    if req.max_tokens < max_tokens:
        assert req.max_tokens >= MIN_OUTPUT_TOKENS
    assert dataclasses.replace(req, max_tokens=max_tokens) == original


# ----------------------------------------------------------------------------------------
# End to end: the recorded cost stays within --max-cost

# $0.001 per token either way
EXPENSIVE = '[prices."openai:gpt-4o-mini"]\ninput_mtok = 1000.0\noutput_mtok = 1000.0\n'


@pytest.fixture
def server(
    fake_openai: FakeOpenAIServer, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> FakeOpenAIServer:
    use_server(monkeypatch, fake_openai)
    config_path.write_text(EXPENSIVE, encoding="utf-8")
    return fake_openai


def test_output_limit_shrunk_and_cost_recorded_within_the_cap(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Words that are one token for the fake and for gpt-4o-mini's tokenizer alike.
    server.answer = " ".join(["ok"] * 500)
    result = run_cli(["-m", MODEL, "--max-cost", "0.05", "--json", "hi"], capsys, monkeypatch)
    document = result.json
    limit = server.chat_requests[0].json["max_completion_tokens"]
    assert limit < 1024
    assert limit >= MIN_OUTPUT_TOKENS
    assert result.code == ExitCode.OK
    assert document["status"] == "ok"
    (run,) = runs(ledger_path)
    (call,) = calls(ledger_path, run["id"])
    assert call["output_tokens"] == limit  # the server filled the shrunk limit
    assert call["finish_reason"] == "length"
    assert run["cost_usd"] == pytest.approx(document["cost_usd"])
    assert run["cost_usd"] <= 0.05
    assert run["cost_usd"] == pytest.approx((call["input_tokens"] + limit) * 0.001)
    assert call["cost_source"] == "computed"


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    max_cost=st.decimals(min_value=D("0.001"), max_value=D("0.3"), places=4),
    answer_words=st.integers(1, 400),
    prompt_words=st.integers(1, 30),
    max_tokens=st.integers(1, 400),
)
def test_recorded_cost_never_exceeds_max_cost(
    max_cost: Decimal,
    answer_words: int,
    prompt_words: int,
    max_tokens: int,
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.reset()
    server.answer = " ".join(["ok"] * answer_words)
    prompt = " ".join(["word"] * prompt_words)
    argv = ["-m", MODEL, "--json", "--max-cost", str(max_cost), "--max-tokens", str(max_tokens)]
    result = run_cli([*argv, prompt], capsys, monkeypatch)
    document = result.json
    (run,) = [r for r in runs(ledger_path) if r["id"] == document["run_id"]]
    assert run["cost_usd"] <= float(max_cost)
    if document["status"] == "budget_exhausted":
        assert result.code == ExitCode.BUDGET
        assert server.chat_requests == []
        return
    assert result.code == ExitCode.OK
    (request_sent,) = server.chat_requests
    sent_limit = request_sent.json["max_completion_tokens"]
    assert sent_limit <= max_tokens
    (call,) = calls(ledger_path, run["id"])
    reserved_worst = (call["input_tokens"] + sent_limit) * 0.001
    assert reserved_worst <= float(max_cost) + 1e-12


def test_stream_is_cut_at_the_cap_when_the_server_ignores_the_limit(
    server: FakeOpenAIServer,
    ledger_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that streams past max_completion_tokens (and reports no usage) is cut off at
    the first delta past the reservation; that delta was received, so it is counted (a token
    here, and a token of recount) and the call says the server overran."""
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    deltas = [
        {**base, "choices": [{"index": 0, "delta": {"content": " 7"}, "finish_reason": None}]}
        for _ in range(400)
    ]
    server.script(SseEvents(deltas))
    result = run_cli(["-m", MODEL, "--max-cost", "0.05", "--json", "hi"], capsys, monkeypatch)
    assert result.code == ExitCode.BUDGET
    document = result.json
    assert document["status"] == "budget_exhausted"
    (run,) = runs(ledger_path)
    (call,) = calls(ledger_path, run["id"])
    assert call["status"] == "budget"
    assert call["text"]
    assert "the server overran" in call["anomaly"]
    assert 0.05 < call["cost_usd"] <= 0.05 + 0.002
    assert run["cost_usd"] == call["cost_usd"] == document["cost_usd"]
    assert "think: warning: openai:gpt-4o-mini: not believed:" in result.err
