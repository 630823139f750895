"""SSE decoding: the decoder on its own, and over real HTTP through the OpenAI provider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from tests.fakes.openai_server import FakeOpenAIServer, SseEvents
from think.providers.base import ChatRequest, Message, TextDelta
from think.providers.endpoint import Endpoint
from think.providers.http import make_client
from think.providers.openai_chat import OpenAIChatProvider
from think.providers.options import RetryPolicy, Timeouts
from think.providers.sse import SSEDecoder, SSEEvent, iter_lines, iter_sse


async def _aiter(items: Iterable[str]) -> AsyncIterator[str]:
    for item in items:
        yield item


def decode_lines(lines: Iterable[str]) -> list[SSEEvent]:
    """Events from lines (terminators already removed), as ``iter_sse`` sees them."""

    async def run() -> list[SSEEvent]:
        return [event async for event in iter_sse(_aiter(lines))]

    return asyncio.run(run())


def decode_text(chunks: Iterable[str]) -> list[SSEEvent]:
    """Events from raw text chunks, split into lines at CR, LF and CRLF only."""

    async def run() -> list[SSEEvent]:
        return [event async for event in iter_sse(iter_lines(_aiter(chunks)))]

    return asyncio.run(run())


def split_lines(chunks: Iterable[str]) -> list[str]:
    async def run() -> list[str]:
        return [line async for line in iter_lines(_aiter(chunks))]

    return asyncio.run(run())


# -- the decoder ------------------------------------------------------------------------


def test_single_event_is_dispatched_at_the_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed('data: {"a": 1}') is None
    assert decoder.feed("") == SSEEvent(data='{"a": 1}')
    assert decoder.flush() is None


def test_multi_line_data_is_joined_with_newlines() -> None:
    events = decode_lines(["data: first", "data: second", "data:", "data: fourth", ""])
    assert events == [SSEEvent(data="first\nsecond\n\nfourth")]


def test_comments_and_keep_alives_are_skipped() -> None:
    lines = [
        ": OPENROUTER PROCESSING",
        "",
        ": OPENROUTER PROCESSING",
        "",
        "data: one",
        ": a comment inside an event does not end it",
        "data: two",
        "",
        ":",
        "",
    ]
    assert decode_lines(lines) == [SSEEvent(data="one\ntwo")]


def test_a_stream_of_only_keep_alives_yields_nothing() -> None:
    assert decode_lines([": ping", "", ": ping", ""]) == []


def test_event_names_are_kept_and_reset_after_each_event() -> None:
    lines = [
        "event: message_start",
        'data: {"type": "message_start"}',
        "",
        "data: plain",
        "",
        "event: ping",
        "data: {}",
        "",
    ]
    events = decode_lines(lines)
    assert [(e.event, e.data) for e in events] == [
        ("message_start", '{"type": "message_start"}'),
        ("message", "plain"),
        ("ping", "{}"),
    ]


def test_an_event_without_data_is_not_dispatched_and_its_name_does_not_leak() -> None:
    events = decode_lines(["event: lonely", "", "data: x", ""])
    assert events == [SSEEvent(data="x", event="message")]


def test_id_field_is_kept_for_later_events() -> None:
    events = decode_lines(["id: 7", "data: a", "", "data: b", "", "id: 8", "data: c", ""])
    assert [(e.id, e.data) for e in events] == [("7", "a"), ("7", "b"), ("8", "c")]


def test_field_value_rules() -> None:
    # One optional space after the colon is removed, no more; a bare field name means "".
    events = decode_lines(["data:no-space", "", "data:  two spaces", "", "data", "data: x", ""])
    assert [e.data for e in events] == ["no-space", " two spaces", "\nx"]


def test_unknown_fields_are_ignored() -> None:
    assert decode_lines(["retry: 1000", "foo: bar", "data: x", ""]) == [SSEEvent(data="x")]


def test_crlf_line_endings() -> None:
    text = "event: a\r\ndata: one\r\ndata: two\r\n\r\ndata: three\r\n\r\n"
    assert decode_text([text]) == [
        SSEEvent(data="one\ntwo", event="a"),
        SSEEvent(data="three"),
    ]


def test_crlf_split_across_chunks_does_not_make_an_extra_blank_line() -> None:
    # "\r" at the end of one chunk and "\n" at the start of the next are one line ending.
    chunks = ["data: one\r", "\ndata: two\r", "\n\r", "\n"]
    assert decode_text(chunks) == [SSEEvent(data="one\ntwo")]


def test_bare_cr_line_endings() -> None:
    assert decode_text(["data: a\rdata: b\r\rdata: c\r\r"]) == [
        SSEEvent(data="a\nb"),
        SSEEvent(data="c"),
    ]


def test_lines_split_only_at_cr_and_lf() -> None:
    # U+2028, U+2029, NEL, VT and FF are legal unescaped inside JSON strings;
    # str.splitlines (and httpx's aiter_lines) would break the JSON apart.
    payload = 'data: {"t": "a\u2028b\u2029c\x85d\x0be\x0cf\x1cg"}'
    assert split_lines([payload + "\n", "\n"]) == [payload, ""]
    assert decode_text([payload + "\n\n"]) == [SSEEvent(data=payload[len("data: ") :])]


def test_iter_lines_handles_lines_split_across_chunks_and_unterminated_tail() -> None:
    assert split_lines(["da", "ta: a", "b\n", "", "\nda", "ta: tail"]) == [
        "data: ab",
        "",
        "data: tail",
    ]


def test_no_trailing_blank_line_still_yields_the_last_event() -> None:
    assert decode_lines(["data: one", "", "data: last"]) == [
        SSEEvent(data="one"),
        SSEEvent(data="last"),
    ]
    assert decode_text(["data: one\n\ndata: last\n"]) == [
        SSEEvent(data="one"),
        SSEEvent(data="last"),
    ]


def test_done_sentinel_is_an_ordinary_event_for_the_decoder() -> None:
    events = decode_lines(['data: {"x": 1}', "", "data: [DONE]", ""])
    assert [e.data for e in events] == ['{"x": 1}', "[DONE]"]


def test_lines_that_still_carry_their_terminator_are_tolerated() -> None:
    # A line source that splits only at "\n" leaves a trailing "\r" on each line.
    assert decode_lines(["data: a\r", "\r", "data: b\r", "\r"]) == [
        SSEEvent(data="a"),
        SSEEvent(data="b"),
    ]


# -- over real HTTP ---------------------------------------------------------------------


def _chunk(text: str) -> dict[str, object]:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }


def _finish() -> dict[str, object]:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }


def _texts(server: FakeOpenAIServer) -> str:
    endpoint = Endpoint(
        name="fake", protocol="openai-chat", base_url=server.base_url, key_required=False
    )
    request = ChatRequest(model="gpt-4o-mini", messages=(Message("user", "hi"),), max_tokens=64)

    async def run() -> str:
        client = make_client(Timeouts(connect=5.0, idle=5.0))
        provider = OpenAIChatProvider(endpoint, client, RetryPolicy(base_delay=0.01))
        try:
            return "".join(
                [e.text async for e in provider.stream(request) if isinstance(e, TextDelta)]
            )
        finally:
            await provider.aclose()

    return asyncio.run(run())


def test_provider_decodes_crlf_comments_and_multiline_data_over_http() -> None:
    with FakeOpenAIServer() as server:
        server.script(
            SseEvents(
                [
                    ": keep-alive",
                    'data: {"object": "chat.completion.chunk",\r\ndata:  "choices": '
                    '[{"index": 0, "delta": {"content": "Hello"}, "finish_reason": null}]}\r\n',
                    _chunk(", world"),
                    "event: message\ndata: " + '{"choices": [{"index": 0, "delta": '
                    '{"content": "!"}, "finish_reason": "stop"}]}',
                ]
            )
        )
        assert _texts(server) == "Hello, world!"
    server.assert_no_errors()


def test_provider_keeps_unicode_line_separators_inside_content() -> None:
    text = "one\u2028two\u2029three\x85four"
    with FakeOpenAIServer() as server:
        server.script(SseEvents([_chunk(text), _finish()]))
        assert _texts(server) == text
    server.assert_no_errors()


def test_provider_stops_reading_at_done() -> None:
    with FakeOpenAIServer() as server:
        server.script(
            SseEvents([_chunk("kept"), _finish(), "data: [DONE]", _chunk(" ignored")], done=False)
        )
        assert _texts(server) == "kept"
    server.assert_no_errors()
