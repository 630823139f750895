"""What reaches stdout: the answer (streamed as it arrives when it can be), or exactly one
JSON document with ``--json``. Nothing else is ever written to stdout."""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from think import events
from think.cli.json_text import dumps
from think.money import usd_fields


def call_document(call: events.CallRecord) -> dict[str, Any]:
    """One call in the ``--json`` document's ``per_call`` list: what it asked for, the tier
    it was served (and priced) at, and its cost."""
    return {
        "seq": call.seq,
        "stage": call.stage,
        "model": f"{call.provider}:{call.model}",
        "status": call.status,
        "requested_tier": call.requested_tier,
        "served_tier": call.served_tier,
        "cost_usd": call.cost.usd,
        "cost_source": call.cost.source,
        "error": call.error,
    }


def run_document(
    run: events.RunRecord, calls: list[events.CallRecord] | None = None
) -> dict[str, Any]:
    """The ``--json`` document of a finished run (``calls``: its call records)."""
    usage = run.usage
    cost = run.cost
    return usd_fields(
        {
            "answer": run.answer,
            "run_id": run.id,
            "status": run.status,
            "exit_code": run.exit_code,
            "strategy": run.strategy,
            "models": list(run.models),
            "answer_model": run.answer_model,
            "cost_usd": None if cost is None else cost.usd,
            "cost_source": None if cost is None else cost.source,
            "max_cost_usd": run.max_cost_usd,
            "tokens": {
                "input": usage.input_tokens if usage else None,
                "output": usage.output_tokens if usage else None,
                "reasoning": usage.reasoning_tokens if usage else None,
                "cached": usage.cached_tokens if usage else None,
            },
            "calls": run.calls,
            "duration_ms": run.duration_ms,
            "error": run.error,
            "final_answer": run.final_answer,
            "votes": run.votes,
            "agreement": run.agreement,
            "escalated": run.escalated,
            "escalation_reason": run.escalation_reason,
            "stages": list(run.stages),
            "strong_only_cost_usd": run.strong_only_cost_usd,
            "answer_shape": run.answer_shape,
            "verdict": run.verdict,
            "p_accept": run.p_accept,
            "reused_from": run.reused_from,
            "per_call": [call_document(c) for c in sorted(calls or (), key=lambda c: c.seq)],
        }
    )


class AnswerWriter:
    """Event sink for stdout.

    ``stream_stages`` name the stages whose text is the answer and may be streamed as it
    arrives: single's ``answer`` and the cascade's ``escalate`` (empty: print the final
    answer only). The first such call is streamed; if the run's answer is not what it
    streamed (the strong call broke off and the cascade kept its cheap answer), the answer
    follows on a line of its own. With ``as_json`` only the final document is written.
    """

    def __init__(
        self,
        out: IO[str] | None = None,
        *,
        as_json: bool = False,
        stream_stages: frozenset[str] = frozenset({"answer"}),
    ) -> None:
        self.out = out if out is not None else sys.stdout
        self.as_json = as_json
        self.stream_stages = frozenset() if as_json else stream_stages
        self._streaming: set[str] = set()
        self._streamed: list[str] = []
        self._written = False
        self._ends_with_newline = True
        self._reader_gone = False
        self._calls: list[events.CallRecord] = []

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.CallStarted):
            if event.stage in self.stream_stages and event.n == 1 and not self._written:
                self._streaming.add(event.call_id)
        elif isinstance(event, events.AnswerText):
            if event.call_id in self._streaming:
                self._streamed.append(event.text)
                self._write(event.text)
        elif isinstance(event, events.CallFinished):
            self._streaming.discard(event.call.id)
            self._calls.append(event.call)
        elif isinstance(event, events.RunFinished):
            self._finish(event.run)

    def _write(self, text: str) -> None:
        if self._reader_gone:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            # The reader went away (``| head``): the run goes on and is recorded; stdout is
            # pointed at /dev/null so nothing (not even the exit-time flush) complains.
            self._reader_gone = True
            silence(self.out)
            return
        self._written = True
        self._ends_with_newline = text.endswith("\n")

    def _finish(self, run: events.RunRecord) -> None:
        if self.as_json:
            self.out.write(dumps(run_document(run, self._calls), ensure_ascii=False) + "\n")
            self.out.flush()
            return
        if run.answer and (not self._written or "".join(self._streamed) != run.answer):
            if self._written and not self._ends_with_newline:
                self._write("\n")
            self._write(run.answer)
        if self._written and not self._ends_with_newline:
            self._write("\n")


def silence(out: IO[str]) -> None:
    """The reader of ``out`` went away (``| head``): point it at /dev/null, so that what is
    still written (and the interpreter's final flush) goes nowhere, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, out.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    finally:
        os.close(devnull)


class OrderedLines:
    """JSON documents, one per line, in the order of their index though they arrive in any
    order: each is written as soon as every one before it has been (``think batch``)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self._waiting: dict[int, dict[str, Any]] = {}
        self._next = 0
        self._reader_gone = False

    def put(self, index: int, document: dict[str, Any]) -> None:
        self._waiting[index] = document
        while self._next in self._waiting:
            self._write(self._waiting.pop(self._next))
            self._next += 1

    def _write(self, document: dict[str, Any]) -> None:
        if self._reader_gone:
            return
        try:
            self.out.write(dumps(document, ensure_ascii=False) + "\n")
            self.out.flush()
        except BrokenPipeError:  # ``| head``: the batch goes on, recorded and kept
            self._reader_gone = True
            silence(self.out)
