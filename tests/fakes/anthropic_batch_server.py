"""Anthropic's Message Batches API on the loopback Anthropic fake.

Routes (everything else is :class:`~tests.fakes.anthropic_server.FakeAnthropicServer`'s; each
checks ``x-api-key`` and ``anthropic-version`` as the real API does):

* ``POST /v1/messages/batches`` -- ``{"requests": [{"custom_id", "params"}]}``; answers a
  ``message_batch`` (``types/messages/message_batch.py``) ``in_progress``, every request
  ``processing``. An empty list, a custom id that is not 1-64 of ``[a-zA-Z0-9_-]`` or a
  repeated one is a 400; the params themselves are checked when the batch runs (as the real
  API does), so a bad one comes back as an ``errored`` result.
* ``GET /v1/messages/batches/{id}`` -- one poll on (:mod:`tests.fakes.batch_plan`); when it
  ends, ``processing_status: ended``, the final ``request_counts``, ``ended_at`` and
  ``results_url``.
* ``POST /v1/messages/batches/{id}/cancel`` -- ``canceling`` and ``cancel_initiated_at``;
  the next poll ends it with the unfinished requests ``canceled``.
* ``GET /v1/messages/batches/{id}/results`` -- JSONL of ``{"custom_id", "result"}`` lines
  (``succeeded`` with the fake's ``message``, ``errored`` with an error response,
  ``canceled``, ``expired``), in reverse order; before the end a 400.

Unknown batch ids answer a 404 ``not_found_error``.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fakes.anthropic_server import FakeAnthropicServer, anthropic_error, invalid_request
from tests.fakes.batch_plan import BatchPlan, BatchScript, FakeJob
from tests.fakes.behaviours import Generate, JSONDict, RecordedRequest, Status, json_bytes
from tests.fakes.loopback import Handler, serving

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
PREFIX = "/v1/messages/batches"


def rfc3339(when: float) -> str:
    """The API's timestamps: ``2024-08-20T18:37:24.100435Z``."""
    return datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeAnthropicBatchServer(FakeAnthropicServer):
    thread_name = "fake-anthropic-batch-server"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.batches = BatchScript()

    def script_batches(self, *plans: BatchPlan | Status) -> None:
        self.batches.script_batches(*plans)

    @property
    def batch_creates(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.route == PREFIX]

    def route(self, h: Handler, request: RecordedRequest) -> None:
        if not request.route.startswith(PREFIX):
            super().route(h, request)
            return
        failure = self.header_failure(request)
        if failure is not None:
            self.send_status(h, failure)
            return
        parts = request.route[len(PREFIX) :].strip("/").split("/")
        method = request.method
        if method == "POST" and parts == [""]:
            self._create(h, request)
        elif method == "GET" and len(parts) == 1:
            self._with_job(h, parts[0], self._retrieve)
        elif method == "POST" and len(parts) == 2 and parts[1] == "cancel":
            self._with_job(h, parts[0], self._cancel)
        elif method == "GET" and len(parts) == 2 and parts[1] == "results":
            self._with_job(h, parts[0], self._results)
        else:
            self.send_status(h, Status(404, anthropic_error("not_found_error", "Not Found")))

    def _create(self, h: Handler, request: RecordedRequest) -> None:
        plan = self.batches.next_plan()
        if isinstance(plan, Status):
            self.send_status(h, plan)
            return
        body = request.body if isinstance(request.body, dict) else {}
        entries = body.get("requests")
        if not isinstance(entries, list) or not entries:
            self.send_status(h, invalid_request("requests: List should have at least 1 item"))
            return
        items: list[tuple[str, JSONDict]] = []
        for i, entry in enumerate(entries):
            custom_id = entry.get("custom_id") if isinstance(entry, dict) else None
            params = entry.get("params") if isinstance(entry, dict) else None
            if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
                msg = (
                    f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
                )
                self.send_status(h, invalid_request(msg))
                return
            if any(custom_id == seen for seen, _ in items):
                msg = f"Duplicate custom_id: {custom_id}. custom_id must be unique within a batch."
                self.send_status(h, invalid_request(msg))
                return
            if not isinstance(params, dict):
                self.send_status(h, invalid_request(f"requests.{i}.params: Field required"))
                return
            items.append((custom_id, params))
        seed = hashlib.sha256(f"msgbatch-{self.next_number()}".encode()).hexdigest()
        job = FakeJob("msgbatch_01" + seed[:22], plan, items, time.time())
        self.batches.jobs[job.id] = job
        self.send_json(h, self._batch(job))

    def _with_job(self, h: Handler, batch_id: str, then: Any) -> None:
        job = self.batches.jobs.get(batch_id)
        if job is None:
            error = anthropic_error("not_found_error", f"No batch found with id '{batch_id}'")
            self.send_status(h, Status(404, error))
            return
        then(h, job)

    def _retrieve(self, h: Handler, job: FakeJob) -> None:
        job.advance()
        self.send_json(h, self._batch(job))

    def _cancel(self, h: Handler, job: FakeJob) -> None:
        if not job.ended:
            job.cancel_requested = True
            job.extra.setdefault("cancel_initiated_at", time.time())
        self.send_json(h, self._batch(job))

    def _batch(self, job: FakeJob) -> JSONDict:
        total = len(job.items)
        counts = {"processing": total, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if job.ended:
            tally = job.tally()
            lost = "canceled" if job.outcome == "cancelled" else "expired"
            counts = {
                "processing": 0,
                "succeeded": tally["done"],
                "errored": tally["errored"],
                "canceled": tally["not_run"] if lost == "canceled" else 0,
                "expired": tally["not_run"] if lost == "expired" else 0,
            }
            job.extra.setdefault("ended_at", time.time())
        status = "ended" if job.ended else "canceling" if job.cancel_requested else "in_progress"
        cancel_at = job.extra.get("cancel_initiated_at")
        ended_at = job.extra.get("ended_at")
        return {
            "id": job.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "ended_at": rfc3339(ended_at) if ended_at else None,
            "created_at": rfc3339(job.created_at),
            "expires_at": rfc3339(job.created_at + 24 * 3600),
            "archived_at": None,
            "cancel_initiated_at": rfc3339(cancel_at) if cancel_at else None,
            "results_url": f"{self.root_url}{PREFIX}/{job.id}/results" if job.ended else None,
        }

    def _results(self, h: Handler, job: FakeJob) -> None:
        if not job.ended:
            msg = f"Message Batch {job.id} has not yet ended; results are not available"
            self.send_status(h, invalid_request(msg))
            return
        lines = [
            json_bytes({"custom_id": custom_id, "result": self._result(job, i, custom_id, params)})
            + b"\n"
            for i, (custom_id, params) in enumerate(job.items)
        ]
        h.send_bytes(200, b"".join(reversed(lines)), {"content-type": "application/binary"})

    def _result(self, job: FakeJob, index: int, custom_id: str, params: JSONDict) -> JSONDict:
        fate = job.fate(index, custom_id)
        if fate == "not_run":
            return {"type": "canceled" if job.outcome == "cancelled" else "expired"}
        failure = None
        if fate == "errored":
            failure = invalid_request(job.plan.error_message)
        else:
            failure = self.body_failure(params)
        if failure is not None:
            error = dict(failure.body) if isinstance(failure.body, dict) else {}
            error.pop("request_id", None)
            return {"type": "errored", "error": error}
        output = self._output(params, Generate())
        message = self._message(params, output, self.next_number())
        message["usage"]["service_tier"] = "batch"  # the tier batch results report
        return {"type": "succeeded", "message": message}


@pytest.fixture
def fake_anthropic_batches() -> Iterator[FakeAnthropicBatchServer]:
    yield from serving(FakeAnthropicBatchServer())
