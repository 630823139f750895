"""How failed HTTP exchanges become the errors the user sees.

Status codes and error bodies (OpenAI's, Anthropic's and Google's shapes), errors reported
inside an accepted (HTTP 200) stream, transport failures, and the credentials a server may
echo back, which are masked. Whether an error is worth retrying is decided here; the retrying
itself is :mod:`think.providers.http`'s job.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from think.errors import AuthError, ProviderError, StreamCutError
from think.providers.credentials import redact, userinfo_free

RETRYABLE_STATUS = frozenset({408, 409, 429})
MAX_HONOURED_RETRY_AFTER = 120.0
TIER_UNAVAILABLE_CODES = frozenset({"resource_unavailable"})
"""Error codes of a request the asked service tier has no capacity for: OpenAI's flex
processing answers "429 Resource Unavailable" (not billed; developers.openai.com/api/docs/
guides/flex-processing); the body's code is ``resource_unavailable`` (as clients handle it;
the guide names no code)."""
_TIER_UNAVAILABLE = re.compile(r"resource[ _]unavailable", re.IGNORECASE)


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


def parse_error_body(raw_body: bytes) -> Any:
    """The JSON of an error body; Gemini's ``streamGenerateContent`` without ``alt=sse``
    wraps it in a one-element array (``[{"error": ...}]``), which is unwrapped."""
    try:
        body: Any = json.loads(raw_body) if raw_body else None
    except ValueError:
        return None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0]
    return body


def _google_details(body: Any) -> list[dict[str, Any]]:
    """The ``error.details`` entries of a Google error body (``google.rpc.*`` messages)."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        details = body["error"].get("details")
        if isinstance(details, list):
            return [d for d in details if isinstance(d, dict)]
    return []


def _detail(details: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in details if str(d.get("@type", "")).endswith(f"google.rpc.{kind}")]


_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")


def google_retry_delay(body: Any) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``"retryDelay": "37.5s"``)."""
    for info in _detail(_google_details(body), "RetryInfo"):
        match = _DURATION.match(str(info.get("retryDelay", "")))
        if match:
            return float(match.group(1))
    return None


def _google_daily_quota(body: Any) -> bool:
    """Whether a Google 429 names a per-day quota (it resets in hours: retrying is futile)."""
    for failure in _detail(_google_details(body), "QuotaFailure"):
        for violation in failure.get("violations") or ():
            if isinstance(violation, dict) and "PerDay" in str(violation.get("quotaId", "")):
                return True
    return False


def _google_invalid_key(body: Any) -> bool:
    """Google answers a bad API key with 400 ``INVALID_ARGUMENT``, reason ``API_KEY_INVALID``."""
    return any(
        info.get("reason") == "API_KEY_INVALID"
        for info in _detail(_google_details(body), "ErrorInfo")
    )


def redacted(error: ProviderError, secrets: list[str]) -> ProviderError:
    """``error`` with every credential in its message masked."""
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
    body = parse_error_body(raw_body)
    message = parse_message(body) if body is not None else None
    if not message:
        text = raw_body.decode("utf-8", "replace").strip()
        message = text[:200] if text else httpx.codes.get_reason_phrase(status) or "error"
    message = " ".join(message.split())
    code = _error_code(body)
    retry_after = parse_retry_after(headers)
    if retry_after is None:
        retry_after = google_retry_delay(body)
    retryable = status in RETRYABLE_STATUS or status >= 500
    if status == 429 and (code == "insufficient_quota" or _google_daily_quota(body)):
        retryable = False
    should_retry = headers.get("x-should-retry")
    if should_retry in ("true", "false"):
        retryable = should_retry == "true"
    if retry_after is not None and retry_after > MAX_HONOURED_RETRY_AFTER:
        retryable = False
    text = f"{provider}: HTTP {status}: {message}"
    if status in (401, 403) or (status == 400 and _google_invalid_key(body)):
        return AuthError(text, status=status)
    unavailable = status in (429, 503) and (
        code in TIER_UNAVAILABLE_CODES or bool(_TIER_UNAVAILABLE.search(message))
    )
    return ProviderError(
        text,
        status=status,
        retryable=retryable,
        retry_after=retry_after,
        tier_unavailable=unavailable,
    )


def stream_error(provider: str, message: str, status: int | None = None) -> ProviderError:
    """An error the provider reported inside a response it had accepted (HTTP 200): an
    error event in a stream, or an error body with status 200. ``status`` is the HTTP
    status the same error has as a response (from the error's code or type), if known."""
    text = f"{provider}: error in stream: {' '.join(message.split()) or 'error'}"
    if status in (401, 403):
        return AuthError(text, status=status)
    retryable = status is not None and (status in RETRYABLE_STATUS or status >= 500)
    return ProviderError(text, status=status, retryable=retryable)


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


_NO_REASON = {
    httpx.ReadError: "the connection was reset before the response",
    httpx.WriteError: "the connection was reset while sending the request",
    httpx.RemoteProtocolError: "the server closed the connection before the response",
}
"""What to say of a transport failure that came with no message of its own."""


def connection_error(provider: str, url: str, exc: httpx.HTTPError) -> ProviderError:
    url = userinfo_free(url)
    if isinstance(exc, httpx.ConnectError):
        reason = str(exc) or "connection failed"
        if "refused" in reason.lower() or "errno 111" in reason.lower() or _refused(exc):
            reason = "connection refused"
        return ProviderError(f"{provider}: cannot connect to {url} ({reason})", retryable=True)
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(f"{provider}: timed out waiting for {url}", retryable=True)
    reason = str(exc) or next(
        (text for kind, text in _NO_REASON.items() if isinstance(exc, kind)), "no reason given"
    )
    return ProviderError(
        f"{provider}: connection to {url} failed ({type(exc).__name__}: {reason})", retryable=True
    )


def read_error(provider: str, url: str, exc: httpx.HTTPError) -> ProviderError:
    """The error for a response that failed after its headers arrived."""
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(f"{provider}: the stream stalled (no data within the timeout)")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return StreamCutError(f"{provider}: the stream was cut off mid-answer")
    return connection_error(provider, url, exc)
