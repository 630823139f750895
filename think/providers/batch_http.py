"""The HTTP exchanges of the batch APIs: plain (non-streamed) requests with the same bounded
retries, ``retry-after`` handling, error mapping and credential masking as a normal call
(:mod:`think.providers.http`, :mod:`think.providers.http_errors`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from think.errors import ProviderError
from think.providers.batch_jobs import RawItem, Sleep
from think.providers.credentials import secrets_in
from think.providers.http import MALFORMED, retry_wait, send_request
from think.providers.http_errors import read_error, redacted
from think.providers.options import RetryPolicy
from think.providers.payload import parse_json


class BatchHttp:
    """Requests to one provider's batch endpoints, retried per ``policy``."""

    def __init__(
        self,
        provider: str,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        headers: Mapping[str, str],
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.provider = provider
        self._client = client
        self._policy = policy
        self._headers = {
            name: value
            for name, value in headers.items()
            if name.lower() not in ("content-type", "accept")  # set per request
        }
        self._sleep = sleep

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        data: Mapping[str, str] | None = None,
        accept: str = "application/json",
    ) -> bytes:
        """The body of a successful response (after retries); errors as a normal call has."""
        headers = {**self._headers, "Accept": accept}
        attempts = 0

        async def attempt() -> bytes:
            nonlocal attempts
            attempts += 1
            request = self._client.build_request(
                method, url, headers=headers, json=json, files=files, data=data
            )
            response = await send_request(self._client, self.provider, request)
            try:
                return await response.aread()
            except httpx.HTTPError as exc:
                raise read_error(self.provider, url, exc) from exc
            finally:
                await response.aclose()

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._policy.max_retries + 1),
            wait=retry_wait(self._policy),
            retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and e.retryable),
            reraise=True,
            sleep=self._sleep,
        )
        try:
            body: bytes = await retrying(attempt)
        except ProviderError as exc:
            error = redacted(exc, secrets_in(headers, url))
            error.attempts = max(error.attempts, attempts)
            if exc.retryable and attempts > 1:
                error.args = (f"{error.args[0]} (gave up after {attempts} attempts)",)
            raise error from exc.__cause__
        return body

    async def json(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A JSON object from ``method url`` (``body`` sent as JSON; or a multipart form of
        ``files`` and ``data``)."""
        raw = await self.send(method, url, json=body, files=files, data=data)
        payload = parse_json(self.provider, raw, "batch response")
        if not isinstance(payload, dict):
            raise ProviderError(f"{self.provider}: unexpected batch response {raw[:80]!r}")
        return payload


def jsonl(provider: str, raw: bytes) -> list[dict[str, Any]]:
    """The objects of a JSONL file (blank lines skipped); a line that is not an object is
    a provider error, never a traceback."""
    lines: list[dict[str, Any]] = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        value = parse_json(provider, line, "results line")
        if not isinstance(value, dict):
            raise ProviderError(f"{provider}: malformed results line {line[:80]!r}")
        lines.append(value)
    return lines


def read_line(
    provider: str, line: dict[str, Any], read: Callable[[str, dict[str, Any]], RawItem]
) -> RawItem:
    """``read(custom_id, line)``; a line it cannot read (a provider error, an unexpected
    shape) is an errored item with the reason, never lost."""
    custom_id = str(line.get("custom_id") or "")
    try:
        return read(custom_id, line)
    except ProviderError as exc:
        return RawItem(custom_id, "errored", error=str(exc))
    except MALFORMED as exc:
        return RawItem(custom_id, "errored", error=f"{provider}: malformed result ({exc})")
