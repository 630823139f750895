"""Inline ``<think>…</think>`` reasoning split out of streamed content."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from think.providers.think_tags import ThinkTagSplitter


def split(deltas: Sequence[str]) -> tuple[str, str]:
    """Feed ``deltas`` one by one, flush, and return the joined ``(reasoning, answer)``."""
    splitter = ThinkTagSplitter()
    reasoning: list[str] = []
    answer: list[str] = []
    for delta in deltas:
        r, a = splitter.feed(delta)
        reasoning.append(r)
        answer.append(a)
    r, a = splitter.flush()
    reasoning.append(r)
    answer.append(a)
    return "".join(reasoning), "".join(answer)


def test_plain_text_passes_through_unchanged() -> None:
    assert split(["The answer", " is 4."]) == ("", "The answer is 4.")


def test_reasoning_in_one_delta() -> None:
    assert split(["<think>Two plus two is four.</think>The answer is 4."]) == (
        "Two plus two is four.",
        "The answer is 4.",
    )


def test_whitespace_after_the_closing_tag_is_dropped() -> None:
    assert split(["<think>r</think>\n\nanswer"]) == ("r", "answer")


def test_whitespace_after_the_closing_tag_is_dropped_when_it_arrives_later() -> None:
    # Token-by-token streams send "</think>" and "\n\n" as separate deltas.
    assert split(["<think>", "r", "</think>", "\n\n", "answer"]) == ("r", "answer")
    assert split(["<think>r</think>", " ", "\n", "an", "swer"]) == ("r", "answer")


def test_leading_whitespace_before_the_opening_tag_is_ignored() -> None:
    assert split(["\n", "  <think>r</think>a"]) == ("r", "a")


def test_opening_tag_split_across_deltas() -> None:
    assert split(["<", "th", "ink", ">reason", "ing</think>answer"]) == ("reasoning", "answer")


def test_closing_tag_split_across_deltas() -> None:
    assert split(["<think>abc</", "thi", "nk>", "answer"]) == ("abc", "answer")


def test_text_that_only_looks_like_a_tag_prefix_is_released_as_answer() -> None:
    assert split(["<thi", "s is not a tag>"]) == ("", "<this is not a tag>")
    assert split(["<"]) == ("", "<")


def test_tag_not_at_the_start_is_part_of_the_answer() -> None:
    assert split(["Sure. <think>x</think> done"]) == ("", "Sure. <think>x</think> done")


def test_a_second_think_block_is_left_in_the_answer() -> None:
    assert split(["<think>a</think>b<think>c</think>"]) == ("a", "b<think>c</think>")


def test_reasoning_is_released_as_it_streams_not_held_back() -> None:
    splitter = ThinkTagSplitter()
    assert splitter.feed("<think>") == ("", "")
    assert splitter.feed("step one") == ("step one", "")
    # A possible start of "</think>" is held back until it is decided.
    assert splitter.feed(", step two</th") == (", step two", "")
    assert splitter.feed("ought") == ("</thought", "")
    assert splitter.feed("</think>yes") == ("", "yes")


def test_unterminated_reasoning_is_flushed_as_reasoning() -> None:
    assert split(["<think>cut off mid-thought </thi"]) == ("cut off mid-thought </thi", "")


def test_empty_think_block() -> None:
    assert split(["<think></think>", "\n\n", "answer"]) == ("", "answer")


def test_empty_and_whitespace_only_input() -> None:
    assert split([]) == ("", "")
    assert split(["", ""]) == ("", "")
    assert split(["  "]) == ("", "  ")


@pytest.mark.parametrize(
    "text",
    [
        "<think>Two plus two is four.</think>\n\nThe answer is 4.",
        "  <think>\nmulti\nline\n</think>  \n answer with </think> inside",
        "no tags at all, just an answer",
        "<think>never closed",
        "<thin",
    ],
)
def test_every_split_point_gives_the_same_result(text: str) -> None:
    whole = split([text])
    for cut in range(len(text) + 1):
        assert split([text[:cut], text[cut:]]) == whole, cut
    assert split(list(text)) == whole


_PIECES = st.sampled_from(["<think>", "</think>", "<", "</", "think", ">", " ", "\n", "a", "é"])


@given(pieces=st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=12), data=st.data())
def test_result_does_not_depend_on_how_the_stream_is_chunked(
    pieces: list[str], data: st.DataObject
) -> None:
    text = "".join(pieces)
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(text)), max_size=10))
    points = sorted(set(cuts))
    deltas = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    assert split(deltas) == split([text])


_WS = st.text(alphabet=" \n\t", max_size=3)
_TAGGED = st.builds(
    lambda lead, body, gap, answer: f"{lead}<think>{body}</think>{gap}{answer}",
    _WS,
    st.text(max_size=20).filter(lambda s: "</think>" not in s),
    _WS,
    st.text(max_size=20),
)


@given(text=_TAGGED, data=st.data())
def test_tagged_text_splits_the_same_whatever_the_chunking(text: str, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(text)), max_size=10))
    points = sorted(set(cuts))
    deltas = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    reasoning, answer = split(deltas)
    body = text.split("<think>", 1)[1].split("</think>", 1)[0]
    after = text.split("</think>", 1)[1].lstrip()
    assert (reasoning, answer) == (body, after)


@given(pieces=st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=12))
def test_no_text_is_lost_or_invented(pieces: list[str]) -> None:
    text = "".join(pieces)
    reasoning, answer = split(list(text))
    if text.lstrip().startswith("<think>"):
        assert reasoning in text
        assert answer in text
        assert len(reasoning) + len(answer) <= len(text) - len("<think>")
    else:
        assert (reasoning, answer) == ("", text)
