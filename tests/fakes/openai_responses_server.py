"""The OpenAI Responses API (``POST /v1/responses``) on the loopback OpenAI fake.

Streams are SSE with ``event: <type>`` lines and ``data`` payloads that repeat the type,
number every event (``sequence_number``) and carry usage only in the terminal
``response.completed`` event, as the SDK's ``response_stream_event.py`` types and the fixture
``tests/fixtures/openai_responses/o3-pro_responses_stream.sse`` show. Reasoning is exposed
as summaries (``response.reasoning_summary_text.delta``). A whole response (no ``stream``)
is a ``response`` object with ``output`` items. Errors are OpenAI's error bodies as statuses
and ``event: error`` inside a stream. Everything else (auth, scripted faults, timing) is
:class:`~tests.fakes.openai_server.FakeOpenAIServer`'s.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.behaviours import (
    FIXTURES_ROOT,
    ErrorInStream,
    Generate,
    JSONDict,
    RecordedRequest,
    Status,
    count_tokens,
    json_bytes,
    sse_event,
)
from tests.fakes.loopback import Fault, Handler, serving
from tests.fakes.openai_server import FakeOpenAIServer, openai_error, served_tier


class FakeOpenAIResponsesServer(FakeOpenAIServer):
    fixtures_dir = FIXTURES_ROOT / "openai_responses"
    thread_name = "fake-openai-responses-server"
    done_block = None

    @property
    def responses_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route.endswith("/responses")]

    def route(self, h: Handler, request: RecordedRequest) -> None:
        if request.method == "POST" and request.route in ("/v1/responses", "/responses"):
            self.serve(h, request)
        else:
            super().route(h, request)

    def reject(self, request: RecordedRequest) -> Status | None:
        failure = super().reject(request)
        if failure is None and "n" in request.json:
            message = "Unknown parameter: 'n'."
            failure = Status(400, openai_error(message, param="n", code="unknown_parameter"))
        return failure

    def error_blocks(self, fault: ErrorInStream) -> list[bytes]:
        error = self.error_body(fault)["error"]
        event = {
            "type": "error",
            "sequence_number": 99,
            "code": error.get("code") or error.get("type"),
            "message": error.get("message"),
            "param": None,
        }
        return [sse_event(event)]

    def _response(self, body: JSONDict, rid: str, text: str, summary: str) -> JSONDict:
        input_tokens = sum(count_tokens(str(m.get("content", ""))) for m in body["input"])
        input_tokens += count_tokens(str(body.get("instructions", "")))
        output_words = count_tokens(text)
        hidden = self.hidden_reasoning_tokens + count_tokens(summary)
        output: list[JSONDict] = []
        if "reasoning" in body:
            parts = [{"type": "summary_text", "text": summary}] if summary else []
            output.append({"id": f"rs_{rid}", "type": "reasoning", "summary": parts})
        output.append(
            {
                "id": f"msg_{rid}",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )
        return {
            "id": f"resp_{rid}",
            "object": "response",
            "created_at": 1763900000,
            "status": "completed",
            "model": body.get("model"),
            "output": output,
            "service_tier": served_tier(body, self.served_tier),
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": self.cached_tokens},
                "output_tokens": output_words + hidden,
                "output_tokens_details": {"reasoning_tokens": hidden},
                "total_tokens": input_tokens + output_words + hidden,
            },
        }

    def generate(
        self, h: Handler, request: RecordedRequest, gen: Generate, fault: Fault | None
    ) -> None:
        if not request.route.endswith("/responses"):
            super().generate(h, request, gen, fault)
            return
        body = request.json
        delay, chunk_delay = self.timing(gen)
        thinking, answer = self.texts(gen, body)
        text, summary = "".join(answer), "".join(thinking) if "reasoning" in body else ""
        rid = f"{self.next_number():04d}"
        response = self._response(body, rid, text, summary)
        if not body.get("stream"):
            if isinstance(fault, ErrorInStream):
                error = self.error_body(fault)["error"]
                failed = {**response, "status": "failed", "error": error, "output": []}
                self.send_body(h, json_bytes(failed), fault, headers={}, delay=delay)
            else:
                self.send_body(h, json_bytes(response, indent=2), fault, headers={}, delay=delay)
            return
        blocks = list(self._events(response, answer, thinking if summary else []))
        self.send_stream(h, blocks, fault, headers={}, delay=delay, chunk_delay=chunk_delay)

    def _events(
        self, response: JSONDict, answer: list[str], thinking: list[str]
    ) -> Iterator[bytes]:
        number = iter(range(10_000))
        started = {**response, "status": "in_progress", "output": [], "usage": None}
        yield sse_event(
            {"type": "response.created", "sequence_number": next(number), "response": started}
        )
        reasoning_id = f"rs_{response['id'][5:]}"
        message_id = f"msg_{response['id'][5:]}"
        for delta in thinking:
            yield sse_event(
                {
                    "type": "response.reasoning_summary_text.delta",
                    "sequence_number": next(number),
                    "item_id": reasoning_id,
                    "output_index": 0,
                    "summary_index": 0,
                    "delta": delta,
                }
            )
        index = 1 if thinking else 0
        for delta in answer:
            yield sse_event(
                {
                    "type": "response.output_text.delta",
                    "sequence_number": next(number),
                    "item_id": message_id,
                    "output_index": index,
                    "content_index": 0,
                    "delta": delta,
                    "logprobs": [],
                }
            )
        yield sse_event(
            {"type": "response.completed", "sequence_number": next(number), "response": response}
        )


@pytest.fixture
def fake_responses() -> Iterator[FakeOpenAIResponsesServer]:
    yield from serving(FakeOpenAIResponsesServer())
