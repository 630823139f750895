"""OpenAI's Batch API (``/v1/files`` + ``/v1/batches``) for the ``openai-chat`` protocol.

Wire format (openai/openai-python ``types/batch.py``, ``batch_request_counts.py``,
``batch_error.py``, ``batch_create_params.py``, ``file_object.py``, ``resources/files.py``;
the per-line ``BatchRequestOutput`` of OpenAI's OpenAPI spec):

* ``POST {base}/files``, multipart ``file`` (a JSONL file) and ``purpose=batch``; each line
  ``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}``, the body being
  what :class:`~think.providers.openai_chat.OpenAIChatProvider` sends, without streaming (a
  Responses-only model's lines go to ``/v1/responses``). One model per input file (OpenAI's
  batch guide), so a job's requests must share one model.
* ``POST {base}/batches`` ``{"input_file_id", "endpoint", "completion_window": "24h"}`` → a
  ``batch``: ``status`` ``validating`` / ``in_progress`` / ``finalizing`` / ``cancelling``
  while it runs, ``completed`` / ``failed`` / ``expired`` / ``cancelled`` at the end;
  ``request_counts {total, completed, failed}``; ``output_file_id``, ``error_file_id``;
  ``errors.data [{code, message, param, line}]`` when validation failed.
* ``GET {base}/batches/{id}``, ``POST {base}/batches/{id}/cancel``.
* ``GET {base}/files/{id}/content``: JSONL of ``{"id", "custom_id", "response":
  {"status_code", "request_id", "body"}, "error"}``. The output file holds the 200s; the error
  file holds requests that failed with an HTTP error (``response.status_code`` ≥ 400 and the
  usual ``{"error": ...}`` body, ``error: null``: openai/openai-openapi issue 302) and those
  never run (``response: null``, ``error.code`` ``batch_expired`` / ``batch_cancelled`` /
  ``request_timeout``).

An expired or cancelled batch still returns the work it finished ("any already completed work
is returned": OpenAI's Batch API FAQ), and is billed for it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from think.errors import ProviderError, UsageError
from think.providers.batch_http import BatchHttp, jsonl, read_line
from think.providers.batch_jobs import (
    BatchJob,
    BatchRequest,
    ItemStatus,
    RawItem,
    RequestCounts,
    Sleep,
    check_requests,
)
from think.providers.endpoint import Endpoint
from think.providers.http import MALFORMED
from think.providers.http_errors import default_error_message
from think.providers.openai_chat import OpenAIChatProvider, parse_completion
from think.providers.openai_responses import parse_response
from think.providers.options import RetryPolicy

COMPLETION_WINDOW = "24h"
"""The only window the API accepts (``batch_create_params.py``)."""
ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
"""The statuses of a batch that has ended (``types/batch.py``)."""
NOT_RUN: dict[str, ItemStatus] = {"batch_expired": "expired", "batch_cancelled": "canceled"}
"""``error.code`` of a line that never ran, and what that item is."""


class OpenAIBatches:
    def __init__(
        self,
        endpoint: Endpoint,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = endpoint.name
        self.price_provider = endpoint.price_provider
        self._chat = OpenAIChatProvider(dataclasses.replace(endpoint, stream=False), client, policy)
        self._base = endpoint.base_url.rstrip("/")
        self._http = BatchHttp(self.name, client, policy, self._chat.headers(), sleep)

    async def aclose(self) -> None:
        await self._http.aclose()

    def line(self, item: BatchRequest) -> dict[str, Any]:
        """One line of the input file."""
        self._chat.check(item.request)
        path = "/v1/responses" if self._chat.uses_responses(item.request.model) else None
        return {
            "custom_id": item.custom_id,
            "method": "POST",
            "url": path or "/v1/chat/completions",
            "body": self._chat.body(item.request),
        }

    async def submit(self, requests: Sequence[BatchRequest]) -> BatchJob:
        check_requests(self.name, requests)
        models = {item.request.model for item in requests}
        if len(models) > 1:
            raise UsageError(
                f"{self.name}: one model per OpenAI batch (got {', '.join(sorted(models))})"
            )
        lines = [self.line(item) for item in requests]
        content = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        uploaded = await self._http.json(
            "POST",
            f"{self._base}/files",
            files={"file": ("think-batch.jsonl", content, "application/jsonl")},
            data={"purpose": "batch"},
        )
        file_id = uploaded.get("id")
        if not isinstance(file_id, str):
            raise ProviderError(f"{self.name}: the file upload returned no file id")
        body = {
            "input_file_id": file_id,
            "endpoint": lines[0]["url"],
            "completion_window": COMPLETION_WINDOW,
        }
        return self.read_job(await self._http.json("POST", f"{self._base}/batches", body))

    async def status(self, job_id: str) -> BatchJob:
        return self.read_job(await self._http.json("GET", f"{self._base}/batches/{job_id}"))

    async def cancel(self, job_id: str) -> BatchJob:
        return self.read_job(await self._http.json("POST", f"{self._base}/batches/{job_id}/cancel"))

    async def fetch(self, job: BatchJob) -> list[RawItem]:
        items: list[RawItem] = []
        for file_id in (job.output_file_id, job.error_file_id):
            if not file_id:
                continue
            url = f"{self._base}/files/{file_id}/content"
            raw = await self._http.send("GET", url, accept="application/binary")
            items += [self.read_item(line) for line in jsonl(self.name, raw)]
        return items

    def read_job(self, batch: dict[str, Any]) -> BatchJob:
        """A batch object as a :class:`BatchJob`."""
        try:
            status = str(batch["status"])
            counts = batch.get("request_counts") or {}
            total = int(counts.get("total") or 0)
            done = int(counts.get("completed") or 0)
            failed = int(counts.get("failed") or 0)
            errors = (batch.get("errors") or {}).get("data") or ()
            return BatchJob(
                id=str(batch["id"]),
                provider=self.name,
                status=status,
                ended=status in ENDED,
                outcome=status if status in ENDED else None,
                counts=RequestCounts(
                    total=total,
                    succeeded=done,
                    errored=failed,
                    processing=max(total - done - failed, 0),
                ),
                errors=tuple(_batch_error(e) for e in errors if isinstance(e, dict)),
                output_file_id=batch.get("output_file_id") or None,
                error_file_id=batch.get("error_file_id") or None,
                created_at=_when(batch.get("created_at")),
                expires_at=_when(batch.get("expires_at")),
            )
        except MALFORMED as exc:
            raise ProviderError(f"{self.name}: malformed batch object ({exc})") from exc

    def read_item(self, line: dict[str, Any]) -> RawItem:
        """One results line; one that cannot be read is an errored item, never lost."""
        return read_line(self.name, line, self._read_item)

    def _read_item(self, custom_id: str, line: dict[str, Any]) -> RawItem:
        response = line.get("response")
        error = line.get("error")
        if isinstance(response, dict):
            code = int(response.get("status_code") or 0)
            body = response.get("body")
            if code == 200 and isinstance(body, dict):
                raw = json.dumps(body).encode()
                parse = parse_response if body.get("object") == "response" else parse_completion
                events = tuple(parse(self.name, raw))
                model = str(body.get("model") or "") or None
                return RawItem(custom_id, "succeeded", events, model, status_code=200)
            message = default_error_message(body) or f"HTTP {code}"
            return RawItem(custom_id, "errored", error=f"HTTP {code}: {message}", status_code=code)
        if isinstance(error, dict):
            kind = str(error.get("code") or "error")
            status = NOT_RUN.get(kind, "errored")
            return RawItem(custom_id, status, error=f"{kind}: {error.get('message') or kind}")
        return RawItem(custom_id, "errored", error="a result line with no response and no error")


def _batch_error(error: dict[str, Any]) -> str:
    where = f" (line {error['line']})" if error.get("line") is not None else ""
    return f"{error.get('code') or 'error'}: {error.get('message') or ''}{where}".strip()


def _when(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC).isoformat()
    return None
