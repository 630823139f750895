"""HTTP plumbing shared by the wire protocols: clients, error mapping, bounded retries.

Retries follow the official SDKs' rules: 408, 409, 429 and 5xx (529 included) and connection
failures are retried with jittered exponential backoff; ``retry-after-ms`` / ``retry-after``
are honoured (up to a cap; a longer wait is not retried); ``x-should-retry`` wins; 400, 401,
403 and 404 are never retried. Only the opening of a request is retried: once a stream has
started delivering text, a failure ends the call.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import json
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from think.errors import AuthError, ProviderError

RETRYABLE_STATUS = frozenset({408, 409, 429})
MAX_HONOURED_RETRY_AFTER = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based), jittered down by up to 25%."""
        delay = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return delay * random.uniform(0.75, 1.0)


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    idle: float = 120.0
    """Longest wait for the next bytes of a response."""


def make_client(timeouts: Timeouts) -> httpx.AsyncClient:
    timeout = httpx.Timeout(timeouts.idle, connect=timeouts.connect)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
    return httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=True)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        with contextlib.suppress(ValueError):
            return max(float(raw_ms) / 1000.0, 0.0)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


ErrorMessageParser = Callable[[Any], str | None]


def default_error_message(body: Any) -> str | None:
    """The ``error.message`` of OpenAI-, Anthropic- and Gemini-style error bodies."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            return str(message) if message else None
        if isinstance(error, str):
            return error
        message = body.get("message")
        if isinstance(message, str):
            return message
    return None


def _error_code(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code") or body["error"].get("type")
        return str(code) if code is not None else None
    return None


SECRET_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "api-key")


def secrets_in(headers: Mapping[str, str]) -> list[str]:
    """The credentials carried by request headers (bearer tokens and API-key headers)."""
    found = []
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS and value:
            token = value.split(" ", 1)[1] if value.lower().startswith("bearer ") else value
            if len(token) >= 8:
                found.append(token)
    return found


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every credential masked (servers sometimes echo the key they got)."""
    for secret in secrets:
        text = text.replace(secret, f"{secret[:3]}…{secret[-4:]}")
    return text


def redacted(error: ProviderError, secrets: list[str]) -> ProviderError:
    if error.args:
        error.args = (redact(str(error.args[0]), secrets), *error.args[1:])
    return error


def status_error(
    provider: str,
    status: int,
    headers: Mapping[str, str],
    raw_body: bytes,
    parse_message: ErrorMessageParser = default_error_message,
) -> ProviderError:
    """Map an HTTP error response to the error the user sees."""
    try:
        body: Any = json.loads(raw_body) if raw_body else None
    except ValueError:
        body = None
    message = parse_message(body) if body is not None else None
    if not message:
        text = raw_body.decode("utf-8", "replace").strip()
        message = text[:200] if text else httpx.codes.get_reason_phrase(status) or "error"
    message = " ".join(message.split())
    code = _error_code(body)
    retry_after = parse_retry_after(headers)
    retryable = status in RETRYABLE_STATUS or status >= 500
    if status == 429 and code == "insufficient_quota":
        retryable = False
    should_retry = headers.get("x-should-retry")
    if should_retry in ("true", "false"):
        retryable = should_retry == "true"
    if retry_after is not None and retry_after > MAX_HONOURED_RETRY_AFTER:
        retryable = False
    text = f"{provider}: HTTP {status}: {message}"
    if status in (401, 403):
        return AuthError(text, status=status)
    return ProviderError(text, status=status, retryable=retryable, retry_after=retry_after)


def _refused(exc: BaseException) -> bool:
    """Whether ``exc`` was caused by a refused connection. httpx reports only "All
    connection attempts failed"; the ``ConnectionRefusedError`` is in the cause chain
    (one per address tried, grouped when there were several)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        if isinstance(current, OSError) and current.errno == errno.ECONNREFUSED:
            return True
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False


def connection_error(provider: str, url: str, exc: httpx.HTTPError) -> ProviderError:
    if isinstance(exc, httpx.ConnectError):
        reason = str(exc) or "connection failed"
        if "refused" in reason.lower() or "errno 111" in reason.lower() or _refused(exc):
            reason = "connection refused"
        return ProviderError(f"{provider}: cannot connect to {url} ({reason})", retryable=True)
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(f"{provider}: timed out waiting for {url}", retryable=True)
    return ProviderError(
        f"{provider}: connection to {url} failed ({type(exc).__name__}: {exc})", retryable=True
    )


class AttemptCounter:
    """How many HTTP attempts a call made (the ledger records retries)."""

    def __init__(self) -> None:
        self.attempts = 0


@contextlib.asynccontextmanager
async def open_response(
    client: httpx.AsyncClient,
    *,
    provider: str,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    policy: RetryPolicy,
    parse_message: ErrorMessageParser = default_error_message,
    counter: AttemptCounter | None = None,
) -> AsyncIterator[httpx.Response]:
    """POST ``body`` and yield a successful response whose body is not yet read.

    Failed attempts are retried per ``policy``; the last error is raised when attempts run out.
    """

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            return exc.retry_after
        return policy.backoff(state.attempt_number)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_retries + 1),
        wait=wait,
        retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and e.retryable),
        reraise=True,
    )
    response: httpx.Response | None = None
    try:
        async for attempt in retrying:
            with attempt:
                if counter is not None:
                    counter.attempts += 1
                response = await _send(client, provider, url, headers, body, parse_message)
    except ProviderError as exc:
        exc.attempts = counter.attempts if counter is not None else 1
        if exc.retryable and exc.attempts > 1:
            exc.args = (f"{exc.args[0]} (gave up after {exc.attempts} attempts)",)
        raise
    assert response is not None
    try:
        yield response
    finally:
        await response.aclose()


async def _send(
    client: httpx.AsyncClient,
    provider: str,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    parse_message: ErrorMessageParser,
) -> httpx.Response:
    request = client.build_request("POST", url, headers=dict(headers), json=body)
    try:
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise connection_error(provider, url, exc) from exc
    if response.status_code >= 400:
        try:
            raw = await response.aread()
        except httpx.HTTPError:
            raw = b""
        finally:
            await response.aclose()
        error = status_error(provider, response.status_code, response.headers, raw, parse_message)
        raise redacted(error, secrets_in(headers))
    return response
