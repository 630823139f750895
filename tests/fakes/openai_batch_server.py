"""OpenAI's Batch API on the loopback OpenAI fake: ``/v1/files`` and ``/v1/batches``.

Routes (everything else is :class:`~tests.fakes.openai_server.FakeOpenAIServer`'s; every
route checks the key as the real API does):

* ``POST /v1/files`` -- multipart/form-data with ``purpose`` and ``file``; answers a
  ``file`` object (``types/file_object.py``). A missing or wrong ``purpose`` or ``file`` is
  a 400.
* ``POST /v1/batches`` -- ``{"input_file_id", "endpoint", "completion_window"}``; answers a
  ``batch`` object (``types/batch.py``) in ``validating``. An unknown file is a 404, a window
  other than ``24h`` or an endpoint other than chat completions / responses a 400. Input
  lines that do not match the batch (bad JSON, another ``url``, a repeated ``custom_id``, a
  second model) make the job end ``failed`` with ``errors.data``.
* ``GET /v1/batches/{id}`` -- the job moves one poll on (:mod:`tests.fakes.batch_plan`):
  ``in_progress`` with growing ``request_counts``, then ``completed`` / ``expired`` /
  ``failed`` / ``cancelled`` with ``output_file_id`` (200 lines, in reverse order: results
  are matched by ``custom_id``) and ``error_file_id`` (400 lines for ``errored`` ids, and
  ``batch_expired`` / ``batch_cancelled`` lines for items that never ran).
* ``POST /v1/batches/{id}/cancel`` -- ``cancelling``; the next poll ends it ``cancelled``.
  A job that already ended answers 409.
* ``GET /v1/files/{id}/content`` -- the file's bytes.

Unknown ids answer OpenAI's 404 error body. Each result body is the chat completion the fake
generates for that line's body (same answers, usage and token counting).
"""

from __future__ import annotations

import email.policy
import hashlib
import json
import time
from collections.abc import Iterator
from email.parser import BytesParser
from typing import Any

import pytest

from tests.fakes.batch_plan import BatchPlan, BatchScript, FakeJob
from tests.fakes.behaviours import Generate, JSONDict, RecordedRequest, Status, json_bytes
from tests.fakes.loopback import Handler, serving
from tests.fakes.openai_server import FakeOpenAIServer, model_not_found, openai_error

ENDPOINTS = ("/v1/chat/completions", "/v1/responses")
EXPIRED = "This request could not be executed before the completion window expired."
CANCELLED = "This request could not be executed before the batch was cancelled."


def _hex(seed: str, n: int = 24) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


class FakeOpenAIBatchServer(FakeOpenAIServer):
    thread_name = "fake-openai-batch-server"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.batches = BatchScript()
        self.files: dict[str, tuple[JSONDict, bytes]] = {}
        """File id → (file object, content): uploads and result files."""

    def script_batches(self, *plans: BatchPlan | Status) -> None:
        self.batches.script_batches(*plans)

    @property
    def uploads(self) -> list[list[JSONDict]]:
        """The JSONL lines of each uploaded batch input file."""
        return [
            [json.loads(line) for line in content.splitlines() if line.strip()]
            for meta, content in self.files.values()
            if meta["purpose"] == "batch"
        ]

    # -- routing ----------------------------------------------------------------------

    def route(self, h: Handler, request: RecordedRequest) -> None:
        method, route = request.method, request.route
        if not (route.startswith("/v1/files") or route.startswith("/v1/batches")):
            super().route(h, request)
            return
        failure = self._auth_failure(request.headers)
        if failure is not None:
            self.send_status(h, failure)
            return
        parts = route.strip("/").split("/")[1:]  # without "v1"
        if method == "POST" and parts == ["files"]:
            self._upload(h, request)
        elif method == "GET" and len(parts) == 3 and parts[0] == "files" and parts[2] == "content":
            self._content(h, parts[1])
        elif method == "POST" and parts == ["batches"]:
            self._create(h, request)
        elif method == "GET" and len(parts) == 2 and parts[0] == "batches":
            self._retrieve(h, parts[1])
        elif (
            method == "POST" and len(parts) == 3 and parts[0] == "batches" and parts[2] == "cancel"
        ):
            self._cancel(h, parts[1])
        else:
            msg = f"Invalid URL ({request.method} {request.route})"
            self.send_status(h, Status(404, openai_error(msg)))

    # -- files ------------------------------------------------------------------------

    def _add_file(self, content: bytes, filename: str, purpose: str) -> JSONDict:
        file_id = "file-" + _hex(f"file-{self.next_number()}", 22)
        meta: JSONDict = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }
        self.files[file_id] = (meta, content)
        return meta

    def _upload(self, h: Handler, request: RecordedRequest) -> None:
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data") or "boundary=" not in ctype:
            self.send_status(
                h, Status(400, openai_error("Invalid file format: expected multipart"))
            )
            return
        message = BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + request.raw_body
        )
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = (part.get_filename(), payload)
        purpose = fields.get("purpose", (None, b""))[1].decode()
        if purpose != "batch":
            error = openai_error(
                f"'{purpose}' is not one of ['fine-tune', 'assistants', 'batch', 'user_data',"
                " 'vision', 'evals'] - 'purpose'",
                param="purpose",
            )
            self.send_status(h, Status(400, error))
            return
        upload = fields.get("file")
        if upload is None or not upload[0]:
            self.send_status(h, Status(400, openai_error("'file' is a required property")))
            return
        self.send_json(h, self._add_file(upload[1], upload[0], "batch"))

    def _content(self, h: Handler, file_id: str) -> None:
        found = self.files.get(file_id)
        if found is None:
            error = openai_error(f"No such File object: {file_id}", param="id")
            self.send_status(h, Status(404, error))
            return
        h.send_bytes(200, found[1], {"content-type": "application/octet-stream"})

    # -- batches ----------------------------------------------------------------------

    def _create(self, h: Handler, request: RecordedRequest) -> None:
        plan = self.batches.next_plan()
        if isinstance(plan, Status):
            self.send_status(h, plan)
            return
        body = request.body if isinstance(request.body, dict) else {}
        file_id = str(body.get("input_file_id"))
        if body.get("completion_window") != "24h":
            msg = f"Invalid value: '{body.get('completion_window')}'. Supported values are: '24h'."
            self.send_status(h, Status(400, openai_error(msg, param="completion_window")))
            return
        if body.get("endpoint") not in ENDPOINTS:
            msg = f"Invalid value: '{body.get('endpoint')}'. Supported values are: {ENDPOINTS}."
            self.send_status(h, Status(400, openai_error(msg, param="endpoint")))
            return
        if file_id not in self.files:
            error = openai_error(f"No such File object: {file_id}", param="input_file_id")
            self.send_status(h, Status(404, error))
            return
        items, errors = self._read_input(self.files[file_id][1], str(body["endpoint"]))
        job = FakeJob("batch_" + _hex(f"batch-{self.next_number()}"), plan, items, time.time())
        job.extra.update(input_file_id=file_id, endpoint=body["endpoint"], errors=errors)
        if errors:
            job.plan = BatchPlan(polls=1, outcome="failed")
        self.batches.jobs[job.id] = job
        self.send_json(h, self._batch(job, "validating"))

    def _read_input(
        self, content: bytes, endpoint: str
    ) -> tuple[list[tuple[str, JSONDict]], list[JSONDict]]:
        items: list[tuple[str, JSONDict]] = []
        errors: list[JSONDict] = []
        models: set[str] = set()
        for number, raw in enumerate(content.splitlines(), start=1):
            try:
                line = json.loads(raw)
            except ValueError:
                errors.append(_line_error("invalid_json", "This line is not valid JSON.", number))
                continue
            custom_id, body = line.get("custom_id"), line.get("body")
            if line.get("method") != "POST" or line.get("url") != endpoint:
                msg = f"The URL of this request does not match the batch endpoint {endpoint}."
                errors.append(_line_error("invalid_url", msg, number, "url"))
            elif not isinstance(custom_id, str) or any(custom_id == c for c, _ in items):
                msg = "The custom_id for this request is a duplicate of another request."
                errors.append(_line_error("duplicate_custom_id", msg, number, "custom_id"))
            elif not isinstance(body, dict):
                errors.append(_line_error("invalid_request", "Missing body.", number, "body"))
            else:
                models.add(str(body.get("model")))
                items.append((custom_id, body))
        if len(models) > 1:
            msg = "Requests in a batch must all use the same model."
            errors.append(_line_error("mismatched_model", msg, None, "body.model"))
        return items, errors

    def _job(self, h: Handler, batch_id: str) -> FakeJob | None:
        job = self.batches.jobs.get(batch_id)
        if job is None:
            error = openai_error(f"No batch found with id '{batch_id}'.", param="batch_id")
            self.send_status(h, Status(404, error))
        return job

    def _retrieve(self, h: Handler, batch_id: str) -> None:
        job = self._job(h, batch_id)
        if job is not None:
            job.advance()
            self.send_json(h, self._batch(job))

    def _cancel(self, h: Handler, batch_id: str) -> None:
        job = self._job(h, batch_id)
        if job is None:
            return
        if job.ended:
            msg = f"Cannot cancel a batch with status '{job.outcome}'."
            self.send_status(h, Status(409, openai_error(msg)))
            return
        job.cancel_requested = True
        job.extra["cancelling_at"] = int(time.time())
        self.send_json(h, self._batch(job))

    def _batch(self, job: FakeJob, status: str | None = None) -> JSONDict:
        created = int(job.created_at)
        if job.ended and "output_file_id" not in job.extra:
            self._write_results(job)
        total = len(job.items)
        completed, failed = job.progress(), 0
        if job.ended:
            completed = job.tally()["done"]
            failed = 0 if job.outcome == "failed" else total - completed
        if status is None:
            status = job.outcome or ("cancelling" if job.cancel_requested else "in_progress")
        ended_at = int(time.time()) if job.ended else None
        errors = job.extra.get("errors") or []
        return {
            "id": job.id,
            "object": "batch",
            "endpoint": job.extra["endpoint"],
            "model": job.items[0][1].get("model") if job.items else None,
            "errors": {"object": "list", "data": errors} if errors else None,
            "input_file_id": job.extra["input_file_id"],
            "completion_window": "24h",
            "status": status,
            "output_file_id": job.extra.get("output_file_id"),
            "error_file_id": job.extra.get("error_file_id"),
            "created_at": created,
            "in_progress_at": created + 1 if job.polls else None,
            "expires_at": created + 24 * 3600,
            "finalizing_at": ended_at if job.outcome == "completed" else None,
            "completed_at": ended_at if job.outcome == "completed" else None,
            "failed_at": ended_at if job.outcome == "failed" else None,
            "expired_at": ended_at if job.outcome == "expired" else None,
            "cancelling_at": job.extra.get("cancelling_at"),
            "cancelled_at": ended_at if job.outcome == "cancelled" else None,
            "request_counts": {"total": total, "completed": completed, "failed": failed},
            "metadata": None,
        }

    def _write_results(self, job: FakeJob) -> None:
        output: list[bytes] = []
        failed: list[bytes] = []
        if job.outcome != "failed":
            for index, (custom_id, body) in enumerate(job.items):
                line = self._result_line(job, custom_id, body, job.fate(index, custom_id))
                ok = line["response"] is not None and line["response"]["status_code"] == 200
                (output if ok else failed).append(json_bytes(line) + b"\n")
        job.extra["output_file_id"] = None
        job.extra["error_file_id"] = None
        if output:
            content = b"".join(reversed(output))  # any order: matched by custom_id
            meta = self._add_file(content, f"{job.id}_output.jsonl", "batch_output")
            job.extra["output_file_id"] = meta["id"]
        if failed:
            meta = self._add_file(b"".join(failed), f"{job.id}_error.jsonl", "batch_output")
            job.extra["error_file_id"] = meta["id"]

    def _result_line(self, job: FakeJob, custom_id: str, body: JSONDict, fate: str) -> JSONDict:
        line_id = "batch_req_" + _hex(f"{job.id}-{custom_id}", 32)
        line: JSONDict = {"id": line_id, "custom_id": custom_id}
        request_id = _hex(f"req-{job.id}-{custom_id}", 32)
        if fate == "not_run":
            cancelled = job.outcome == "cancelled"
            code, message = (
                ("batch_cancelled", CANCELLED) if cancelled else ("batch_expired", EXPIRED)
            )
            return {**line, "response": None, "error": {"code": code, "message": message}}
        failure: Status | None = None
        if fate == "errored":
            failure = Status(400, openai_error(job.plan.error_message, param="max_tokens"))
        elif self.known_models is not None and body.get("model") not in self.known_models:
            failure = model_not_found(str(body.get("model")))
        if failure is not None:
            response = {"status_code": failure.code, "request_id": request_id, "body": failure.body}
            return {**line, "response": response, "error": None}
        choices = self._choices(body, Generate())
        cid, _ = self._next_id()
        model = self.response_model or str(body.get("model"))
        completion = self._response_json(body, choices, cid, int(time.time()), model)
        response = {"status_code": 200, "request_id": request_id, "body": completion}
        return {**line, "response": response, "error": None}


def _line_error(code: str, message: str, line: int | None, param: str | None = None) -> JSONDict:
    return {"code": code, "message": message, "param": param, "line": line}


@pytest.fixture
def fake_openai_batches() -> Iterator[FakeOpenAIBatchServer]:
    yield from serving(FakeOpenAIBatchServer())
