"""Anthropic's Message Batches API for the ``anthropic-messages`` protocol.

Wire format (anthropics/anthropic-sdk-python ``resources/messages/batches.py`` and
``types/messages/message_batch*.py``, ``batch_create_params.py``; the batch-processing guide,
docs.claude.com/en/docs/build-with-claude/batch-processing):

* ``POST {base}/v1/messages/batches`` ``{"requests": [{"custom_id", "params"}]}``, ``params``
  being what :class:`~think.providers.anthropic_messages.AnthropicMessagesProvider` sends,
  without ``stream``; custom ids are 1–64 characters of letters, digits, ``-`` and ``_``.
  Models may differ between requests.
* → a ``message_batch``: ``processing_status`` ``in_progress`` / ``canceling`` / ``ended``;
  ``request_counts {processing, succeeded, errored, canceled, expired}`` (all but
  ``processing`` stay 0 until the batch ends); ``results_url`` once it ended; RFC 3339
  ``created_at``, ``expires_at`` (24 h later), ``ended_at``, ``cancel_initiated_at``.
* ``GET {base}/v1/messages/batches/{id}``, ``POST {base}/v1/messages/batches/{id}/cancel``.
* ``GET results_url`` (the API reference says to take the URL from the batch, not to build
  it): JSONL of ``{"custom_id", "result": {"type": "succeeded", "message"} | {"type":
  "errored", "error": {"type": "error", "error": {"type", "message"}}} | {"type": "canceled"}
  | {"type": "expired"}}``, in any order. Errored, canceled and expired requests are not
  billed (the guide's result-type table).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from think.errors import ProviderError, UsageError
from think.providers.anthropic_messages import AnthropicMessagesProvider, parse_message
from think.providers.batch_http import BatchHttp, jsonl, read_line
from think.providers.batch_jobs import (
    BatchJob,
    BatchRequest,
    RawItem,
    RequestCounts,
    Sleep,
    check_requests,
)
from think.providers.endpoint import Endpoint
from think.providers.http import MALFORMED
from think.providers.options import RetryPolicy

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""What a Message Batches ``custom_id`` may be (the batch-processing guide)."""


class AnthropicBatches:
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
        plain = dataclasses.replace(endpoint, stream=False)
        self._messages = AnthropicMessagesProvider(plain, client, policy)
        self._base = endpoint.base_url.rstrip("/") + "/v1/messages/batches"
        self._http = BatchHttp(self.name, client, policy, self._messages.headers(), sleep)

    async def aclose(self) -> None:
        await self._http.aclose()

    def entry(self, item: BatchRequest) -> dict[str, Any]:
        """One entry of the ``requests`` list."""
        self._messages.check(item.request)
        return {"custom_id": item.custom_id, "params": self._messages.body(item.request)}

    async def submit(self, requests: Sequence[BatchRequest]) -> BatchJob:
        check_requests(self.name, requests)
        bad = [r.custom_id for r in requests if not CUSTOM_ID.match(r.custom_id)]
        if bad:
            raise UsageError(
                f"{self.name}: batch custom id {bad[0]!r} is not 1-64 letters, digits, - or _"
            )
        body = {"requests": [self.entry(item) for item in requests]}
        return self.read_job(await self._http.json("POST", self._base, body))

    async def status(self, job_id: str) -> BatchJob:
        return self.read_job(await self._http.json("GET", f"{self._base}/{job_id}"))

    async def cancel(self, job_id: str) -> BatchJob:
        return self.read_job(await self._http.json("POST", f"{self._base}/{job_id}/cancel"))

    async def fetch(self, job: BatchJob) -> list[RawItem]:
        url = f"{self._base}/{job.id}/results"
        if job.results_url and _same_origin(job.results_url, self._base):
            url = job.results_url  # never the key to another host
        raw = await self._http.send("GET", url, accept="application/binary")
        return [self.read_item(line) for line in jsonl(self.name, raw)]

    def read_job(self, batch: dict[str, Any]) -> BatchJob:
        """A batch object as a :class:`BatchJob`."""
        try:
            status = str(batch["processing_status"])
            counts = batch.get("request_counts") or {}
            tally = {key: int(counts.get(key) or 0) for key in _COUNTS}
            ended = status == "ended"
            return BatchJob(
                id=str(batch["id"]),
                provider=self.name,
                status=status,
                ended=ended,
                outcome=_outcome(tally, batch) if ended else None,
                counts=RequestCounts(total=sum(tally.values()), **tally),
                results_url=batch.get("results_url") or None,
                created_at=batch.get("created_at") or None,
                expires_at=batch.get("expires_at") or None,
            )
        except MALFORMED as exc:
            raise ProviderError(f"{self.name}: malformed batch object ({exc})") from exc

    def read_item(self, line: dict[str, Any]) -> RawItem:
        """One results line; one that cannot be read is an errored item, never lost."""
        return read_line(self.name, line, self._read_item)

    def _read_item(self, custom_id: str, line: dict[str, Any]) -> RawItem:
        result = line.get("result")
        kind = result.get("type") if isinstance(result, dict) else None
        if kind == "succeeded" and isinstance(result, dict):
            message = result.get("message")
            if not isinstance(message, dict):
                raise ProviderError(f"{self.name}: a succeeded result with no message")
            events = tuple(parse_message(self.name, json.dumps(message).encode()))
            return RawItem(custom_id, "succeeded", events, str(message.get("model") or "") or None)
        if kind == "errored" and isinstance(result, dict):
            response = result.get("error")
            error = response.get("error") if isinstance(response, dict) else None
            if isinstance(error, dict):
                shown = f"{error.get('type') or 'error'}: {error.get('message') or ''}"
            else:
                shown = "errored (no reason given)"
            return RawItem(custom_id, "errored", error=shown.strip())
        if kind == "canceled":
            return RawItem(custom_id, "canceled", error="canceled before it was sent to the model")
        if kind == "expired":
            return RawItem(custom_id, "expired", error="the batch expired before it ran (24 h)")
        raise ProviderError(f"{self.name}: unknown batch result type {kind!r}")


_COUNTS = ("succeeded", "errored", "canceled", "expired", "processing")


def _outcome(tally: dict[str, int], batch: dict[str, Any]) -> str:
    """How an ended Message Batch ended, in the OpenAI words :class:`BatchJob` uses."""
    if batch.get("cancel_initiated_at"):
        return "cancelled"
    if tally["expired"]:
        return "expired"
    return "completed"


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)
