"""A loopback server speaking the Gemini API wire format (generativelanguage ``v1beta``).

The wire-format layer on :mod:`tests.fakes.loopback`:

* ``POST /v1beta/models/{model}:streamGenerateContent?alt=sse`` -- one ``data:`` event per
  chunk, each a whole ``GenerateContentResponse``, CRLF line ends (the Google JS SDKs'
  ``responseLineRE`` expects them); without ``alt=sse`` the JSON-array form;
* ``POST /v1beta/models/{model}:generateContent`` -- one JSON response;
* anything else -- Google's 404 body.

Requests are checked like the real API does: the key (``x-goog-api-key`` or ``?key=``;
missing → 403 ``PERMISSION_DENIED``, wrong → 400 ``API_KEY_INVALID``), roles ``user`` /
``model`` only, ``candidateCount`` > 1 refused when streaming, ``thinkingBudget`` within
the model's range (2.5 Pro 128–32768, Flash 0–24576, Flash-Lite 0 or 512–24576), not both
``thinkingBudget`` and ``thinkingLevel``.

Deterministic usage (one token per whitespace-separated word): ``promptTokenCount`` counts
``systemInstruction`` and every part's text, ``cachedContentTokenCount`` is
``cached_tokens`` (capped); thoughts are ``hidden_thought_tokens`` plus the thought-summary
words when thinking is on (a budget above 0 or any level; 2.5 Flash and 3.x think by default,
2.5 Pro always), and they and the answer words share ``maxOutputTokens``
(``finishReason: MAX_TOKENS`` when cut). Thought parts come only with ``includeThoughts``.
Chunks carry ``words_per_chunk`` words each, with usage so far; the last one the final usage.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.behaviours import (
    FIXTURES_ROOT,
    ErrorInStream,
    Fault,
    Generate,
    JSONDict,
    RecordedRequest,
    Spent,
    Status,
    count_tokens,
    json_bytes,
    spend,
)
from tests.fakes.loopback import Handler, LoopbackServer, serving

FIXTURES_DIR = FIXTURES_ROOT / "gemini"
_ROUTE = re.compile(r"^/v1beta/models/([^/:]+):(streamGenerateContent|generateContent)$")
BUDGET_RANGES = {
    "gemini-2.5-pro": (128, 32768, False),
    "gemini-2.5-flash-lite": (512, 24576, True),
    "gemini-2.5-flash": (1, 24576, True),
}
"""Model prefix → (smallest budget, largest budget, can be switched off with 0)."""


def google_error(
    code: int, message: str, status: str, details: list[JSONDict] | None = None
) -> JSONDict:
    error: JSONDict = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return {"error": error}


def load_fixture_json(name: str) -> JSONDict:
    return FakeGeminiServer.fixture_json(name)


def invalid_argument(message: str) -> Status:
    return Status(400, google_error(400, message, "INVALID_ARGUMENT"))


def api_key_invalid() -> Status:
    return Status(400, load_fixture_json("error_400_api_key_invalid.json"))


def permission_denied() -> Status:
    return Status(403, load_fixture_json("error_403_permission_denied.json"))


def not_found(model: str) -> Status:
    body = load_fixture_json("error_404_not_found.json")
    body["error"]["message"] = body["error"]["message"].replace("gemini-9-pro", model)
    return Status(404, body)


def resource_exhausted() -> Status:
    """429 with a ``RetryInfo`` delay of 0.05 s in the body (and no retry header, as Gemini)."""
    return Status(429, load_fixture_json("error_429_resource_exhausted.json"))


def daily_quota() -> Status:
    """429 for a per-day quota: resets in hours, must not be retried."""
    return Status(429, load_fixture_json("error_429_daily_quota.json"))


def unavailable() -> Status:
    return Status(503, load_fixture_json("error_503_unavailable.json"))


def _budget_range(model: str) -> tuple[int, int, bool] | None:
    for prefix, bounds in BUDGET_RANGES.items():
        if model.startswith(prefix):
            return bounds
    return None


class FakeGeminiServer(LoopbackServer):
    """Gemini API fake; every constructor argument is a public attribute (``common``: the
    options of :class:`~tests.fakes.loopback.LoopbackServer`). ``base_url`` is the root, as
    ``GEMINI_BASE_URL`` is (the client adds ``/v1beta``)."""

    fixtures_dir = FIXTURES_DIR
    thread_name = "fake-gemini-server"

    def __init__(
        self,
        *,
        hidden_thought_tokens: int = 0,
        words_per_chunk: int = 2,
        cached_tokens: int = 0,
        **common: Any,
    ) -> None:
        self.hidden_thought_tokens = hidden_thought_tokens
        """Thinking tokens billed beyond the summary (when thinking is on)."""
        self.words_per_chunk = words_per_chunk
        self.cached_tokens = cached_tokens
        super().__init__(**common)

    @property
    def generate_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if _ROUTE.match(r.route)]

    def route(self, h: Handler, request: RecordedRequest) -> None:
        if request.method == "POST" and _ROUTE.match(request.route):
            self.serve(h, request)
        else:
            message = f"Requested entity was not found. ({request.method} {request.route})"
            self.send_status(h, Status(404, google_error(404, message, "NOT_FOUND")))

    # -- validation -------------------------------------------------------------------

    def reject(self, request: RecordedRequest) -> Status | None:
        if self.require_api_key is not None:
            query_key = re.search(r"(?:^|&)key=([^&]*)", request.query)
            key = request.headers.get("x-goog-api-key") or (query_key and query_key.group(1))
            if not key:
                return permission_denied()
            if key != self.require_api_key:
                return api_key_invalid()
        if not isinstance(request.body, dict):
            return invalid_argument("Invalid JSON payload received. Unexpected token.")
        match = _ROUTE.match(request.route)
        assert match is not None
        model, method = match.groups()
        if self.known_models is not None and model not in self.known_models:
            return not_found(model)
        return self._body_failure(request.json, model, method == "streamGenerateContent")

    def _body_failure(self, body: JSONDict, model: str, streaming: bool) -> Status | None:
        for content in body.get("contents") or ():
            role = content.get("role") if isinstance(content, dict) else None
            if role not in (None, "user", "model"):
                return invalid_argument(f"Please use a valid role: user, model. (got {role!r})")
        config = body.get("generationConfig") or {}
        if streaming and int(config.get("candidateCount") or 1) > 1:
            return invalid_argument("Multiple candidates is not enabled for this model")
        thinking = config.get("thinkingConfig") or {}
        if "thinkingBudget" in thinking and "thinkingLevel" in thinking:
            return invalid_argument(
                "You can only set only one of thinking budget and thinking level."
            )
        bounds = _budget_range(model)
        budget = thinking.get("thinkingBudget")
        if bounds is not None and isinstance(budget, int) and budget != -1:
            low, high, can_disable = bounds
            if not (low <= budget <= high or (budget == 0 and can_disable)):
                return Status(400, _budget_error(budget, low, high))
        return None

    # -- generation -------------------------------------------------------------------

    def _thinks(self, model: str, thinking: JSONDict) -> bool:
        if "thinkingLevel" in thinking:
            return True
        budget = thinking.get("thinkingBudget")
        if budget is not None:
            return budget != 0
        # Defaults: 2.5 Flash-Lite does not think; 2.5 Flash, 2.5 Pro and 3.x do.
        return not model.startswith("gemini-2.5-flash-lite") and model.startswith("gemini-")

    def _output(self, body: JSONDict, model: str, gen: Generate) -> Spent:
        config = body.get("generationConfig") or {}
        thinking = config.get("thinkingConfig") or {}
        thinks = self._thinks(model, thinking)
        thoughts, text = self.texts(gen, body)
        hidden = self.hidden_thought_tokens if thinks else 0
        limit = None if self.ignore_max_tokens else config.get("maxOutputTokens")
        out = spend(
            limit if isinstance(limit, int) else None, hidden, thoughts if thinks else [], text
        )
        if thinks and not thinking.get("includeThoughts"):  # thoughts billed, not returned
            return Spent(out.hidden + len(out.reasoning), [], out.answer, out.cut)
        return out

    def _prompt_tokens(self, body: JSONDict) -> int:
        total = 0
        system = body.get("systemInstruction")
        contents = [system] if isinstance(system, dict) else []
        contents += [c for c in body.get("contents") or () if isinstance(c, dict)]
        for content in contents:
            for part in content.get("parts") or ():
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += count_tokens(part["text"])
        return total

    def _usage(self, prompt: int, candidates: int, thoughts: int) -> JSONDict:
        usage: JSONDict = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": candidates,
            "totalTokenCount": prompt + candidates + thoughts,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
        }
        cached = min(self.cached_tokens, prompt)
        if cached:
            usage["cachedContentTokenCount"] = cached
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        return {**usage, **self.usage_override}

    def _chunks(self, body: JSONDict, model: str, output: Spent, rid: str) -> list[JSONDict]:
        prompt = self._prompt_tokens(body)
        size = max(1, self.words_per_chunk)
        parts: list[tuple[JSONDict, int, int]] = []  # (part, candidates so far, thoughts so far)
        for i in range(0, len(output.reasoning), size):
            text = "".join(output.reasoning[i : i + size])
            parts.append(({"text": text, "thought": True}, 0, output.hidden + i + size))
        for i in range(0, len(output.answer), size):
            text = "".join(output.answer[i : i + size])
            parts.append(
                (
                    {"text": text},
                    min(i + size, len(output.answer)),
                    output.reasoning_tokens,
                )
            )
        if not parts:
            parts.append(({"text": ""}, 0, output.reasoning_tokens))
        chunks: list[JSONDict] = []
        for number, (part, so_far, thought_so_far) in enumerate(parts, start=1):
            candidate: JSONDict = {"content": {"parts": [part], "role": "model"}, "index": 0}
            if number == len(parts):  # the last chunk: finish reason and final usage
                candidate["finishReason"] = _finish(output)
                usage = self._usage(prompt, len(output.answer), output.reasoning_tokens)
            else:
                usage = self._usage(prompt, so_far, min(thought_so_far, output.reasoning_tokens))
            chunks.append(
                {
                    "candidates": [candidate],
                    "usageMetadata": usage,
                    "modelVersion": model,
                    "responseId": rid,
                }
            )
        return chunks

    def _response(self, body: JSONDict, model: str, output: Spent, rid: str) -> JSONDict:
        parts: list[JSONDict] = []
        if output.reasoning:
            parts.append({"text": "".join(output.reasoning), "thought": True})
        parts.append({"text": "".join(output.answer)})
        prompt = self._prompt_tokens(body)
        return {
            "candidates": [
                {
                    "content": {"parts": parts, "role": "model"},
                    "finishReason": _finish(output),
                    "index": 0,
                }
            ],
            "usageMetadata": self._usage(prompt, len(output.answer), output.reasoning_tokens),
            "modelVersion": model,
            "responseId": rid,
        }

    def generate(
        self, h: Handler, request: RecordedRequest, gen: Generate, fault: Fault | None
    ) -> None:
        match = _ROUTE.match(request.route)
        assert match is not None
        model, method = match.groups()
        body = request.json
        rid = hashlib.sha256(f"fake-gemini-{self.next_number()}".encode()).hexdigest()[:23]
        output = self._output(body, model, gen)
        delay, chunk_delay = self.timing(gen)
        headers = {"server": "scaffolding on HTTPServer2", **self.extra_headers}
        sse = method == "streamGenerateContent" and "alt=sse" in request.query.split("&")
        if method == "generateContent" or not sse:
            if isinstance(fault, ErrorInStream):
                payload: Any = self.error_body(fault)
            elif method == "generateContent":
                payload = self._response(body, model, output, rid)
            else:  # streamGenerateContent without alt=sse: one JSON array
                payload = self._chunks(body, model, output, rid)
            self.send_body(h, json_bytes(payload, indent=2), fault, headers=headers, delay=delay)
            return
        self.send_stream(
            h,
            [_data(c) for c in self._chunks(body, model, output, rid)],
            fault,
            headers=headers,
            delay=delay,
            chunk_delay=chunk_delay,
        )

    def encode_event(self, event: JSONDict) -> bytes:
        return _data(event)

    def error_blocks(self, fault: ErrorInStream) -> list[bytes]:
        return [_data(self.error_body(fault))]

    def error_body(self, fault: ErrorInStream) -> JSONDict:
        return {"error": fault.error or load_fixture_json("error_500_internal.json")["error"]}


def _finish(output: Spent) -> str:
    return "MAX_TOKENS" if output.cut else "STOP"


def _data(chunk: JSONDict) -> bytes:
    return b"data: " + json_bytes(chunk) + b"\r\n\r\n"


def _budget_error(budget: int, low: int, high: int) -> JSONDict:
    message = (
        f"The thinking budget {budget} is invalid. Please choose a value between {low} and {high}."
    )
    return google_error(400, message, "INVALID_ARGUMENT")


@pytest.fixture
def fake_gemini() -> Iterator[FakeGeminiServer]:
    """A fresh server per test; fails the test if a handler thread crashed."""
    yield from serving(FakeGeminiServer())
