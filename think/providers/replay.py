"""The ``replay`` provider: recorded real answers served through the provider contract.

A replay file (format: ../shared/replay/README.md) holds, per question, the answers that
real models gave, with their token usage and cost. ``replay:<model>`` answers a request
whose user message contains a recorded question with that model's next recorded answer:
the first request for (question, model) gets the first answer, the second the second, and
a request past the last one is an error, never an invented answer. The recorded
``cost_usd`` is reported as the call's cost, as a provider that reports cost would.
Texts are served exactly as recorded: a code answer that a ``--verify-cmd`` or a code item's
hidden test should find is recorded fenced (benchmarks/open_replay.py writes them so); a
record's other fields (a code item's ``test``, ``verify_cmd``) are never served.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from think.errors import ConfigError, ProviderError
from think.providers.base import (
    Capabilities,
    ChatRequest,
    ChoiceFinished,
    ResponseStarted,
    StreamEvent,
    TextDelta,
    UsageReported,
)
from think.providers.endpoint import Endpoint
from think.usage import Usage


@dataclass(frozen=True)
class Recorded:
    text: str
    usage: Usage


@dataclass(frozen=True)
class ReplayRecord:
    id: str
    question: str
    gold: str
    answer_kind: str
    options: tuple[str, ...]
    responses: Mapping[str, tuple[Recorded, ...]]


def _recorded(item: Mapping[str, Any]) -> Recorded:
    usage = item.get("usage") or {}
    cost = usage.get("cost_usd")
    return Recorded(
        text=str(item.get("text") or ""),
        usage=Usage(
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            reported_cost_usd=None if cost is None else Decimal(str(cost)),
        ),
    )


def parse_record(line: str) -> ReplayRecord:
    data = json.loads(line)
    responses = data.get("responses") or {}
    return ReplayRecord(
        id=str(data.get("id", "")),
        question=str(data["question"]),
        gold=str(data.get("gold", "")),
        answer_kind=str(data.get("answer_kind") or "auto"),
        options=tuple(str(o) for o in data.get("options") or ()),
        responses={m: tuple(_recorded(r) for r in items) for m, items in responses.items()},
    )


@cache
def load_replay(path: str) -> dict[str, ReplayRecord]:
    """Records by question text (cached per file for the life of the process)."""
    records: dict[str, ReplayRecord] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = parse_record(line)
                except (ValueError, KeyError, TypeError) as exc:
                    raise ConfigError(f"{path}:{number}: not a replay record ({exc})") from exc
                records[record.question.strip()] = record
    except OSError as exc:
        raise ConfigError(f"cannot read replay file {path}: {exc.strerror or exc}") from exc
    return records


class ReplayProvider:
    def __init__(self, endpoint: Endpoint, replay_file: Path | None) -> None:
        self.endpoint = endpoint
        self.name = endpoint.name
        if replay_file is None:
            raise ConfigError("replay models need a replay file: set THINK_REPLAY_FILE")
        self.path = Path(replay_file).expanduser()
        self._served: Counter[tuple[str, str]] = Counter()

    def capabilities(self, model: str) -> Capabilities:
        return Capabilities(supports_n=False, streams_usage=True, native_reasoning=False)

    async def aclose(self) -> None:
        return None

    def find(self, request: ChatRequest) -> ReplayRecord:
        records = load_replay(str(self.path))
        for message in reversed(request.messages):
            if message.role != "user":
                continue
            content = message.content.strip()
            if content in records:
                return records[content]
            for part in content.split("\n\n"):
                if part.strip() in records:
                    return records[part.strip()]
        raise ProviderError(f"{self.name}: no recorded question matches the prompt")

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        record = self.find(request)
        answers = record.responses.get(request.model)
        if answers is None:
            recorded = ", ".join(sorted(record.responses)) or "none"
            raise ProviderError(
                f"{self.name}: model {request.model!r} has no recorded answers "
                f"(recorded: {recorded})"
            )
        key = (record.question, request.model)
        index = self._served[key]
        if index >= len(answers):
            raise ProviderError(
                f"{self.name}: {record.id} has only {len(answers)} recorded answers "
                f"from {request.model}"
            )
        self._served[key] += 1
        answer = answers[index]
        yield ResponseStarted()
        yield TextDelta(answer.text)
        yield ChoiceFinished("stop")
        yield UsageReported(answer.usage)
