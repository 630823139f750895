"""HTTP plumbing shared by the wire protocols: clients, bounded retries, and the
request/response skeleton every protocol runs (:func:`stream_call`). How failures map to
errors (and which are worth retrying) is :mod:`think.providers.http_errors`.

Retries follow the official SDKs' rules: 408, 409, 429 and 5xx (529 included) and connection
failures (refused, reset, timed out before the headers) are retried with jittered exponential
backoff; ``retry-after-ms`` / ``retry-after`` are honoured (up to a cap; a longer wait is not
retried), and so is the ``google.rpc.RetryInfo`` delay Gemini puts in its 429 bodies (it sends
no header); ``x-should-retry`` wins; 400, 401, 403 and 404 are never retried, nor are
out-of-credit 429s (OpenAI ``insufficient_quota``, Gemini per-day quotas). A retryable error
inside an accepted response is retried too until text or reasoning has been delivered; once
it has, a failure ends the call (the strategy decides what to do next).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, ClassVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from think.errors import ProviderError, StreamCutError
from think.providers.base import (
    ChatRequest,
    ReasoningDelta,
    ResponseStarted,
    StreamEvent,
    TextDelta,
)
from think.providers.credentials import secrets_in
from think.providers.endpoint import Endpoint
from think.providers.http_errors import connection_error, read_error, redacted, status_error
from think.providers.options import RetryPolicy, Timeouts
from think.providers.sse import SSEEvent, iter_lines, iter_sse

MALFORMED = (TypeError, KeyError, AttributeError, ValueError, IndexError, OverflowError)
"""What a protocol's parser raises on a reply of an unexpected shape (``choices`` an object,
``delta`` a string, ``index: "abc"``): each becomes a provider error, never a traceback."""


def make_client(timeouts: Timeouts) -> httpx.AsyncClient:
    timeout = httpx.Timeout(timeouts.idle, connect=timeouts.connect)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
    return httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=True)


def is_json(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


async def sse_events(response: httpx.Response, provider: str, url: str) -> AsyncIterator[SSEEvent]:
    """The SSE events of a streamed response; transport failures become provider errors."""
    try:
        async for event in iter_sse(iter_lines(response.aiter_text())):
            yield event
    except httpx.HTTPError as exc:
        raise read_error(provider, url, exc) from exc


def retry_wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    """The wait before a retry: the delay the failed attempt's error asked for
    (``retry-after`` …), else the policy's jittered backoff."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            return exc.retry_after
        return policy.backoff(state.attempt_number)

    return wait


StreamReader = Callable[[httpx.Response], AsyncIterator[StreamEvent]]
BodyReader = Callable[[bytes], Iterator[StreamEvent]]


async def stream_call(
    client: httpx.AsyncClient,
    *,
    provider: str,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    policy: RetryPolicy,
    stream: bool,
    read_stream: StreamReader,
    read_body: BodyReader,
    retry_unavailable: bool = True,
) -> AsyncIterator[StreamEvent]:
    """One provider call: POST, announce :class:`ResponseStarted`, then the events of the
    streamed response (``read_stream``) or of a whole JSON body (``read_body``: a
    non-streaming request, a server that ignored ``stream``, or an error body sent with
    status 200). Credentials a server echoes in an error are masked.

    Failed attempts are retried per ``policy``: a failed request, and a retryable error
    inside an accepted response (Anthropic's ``overloaded_error`` event, an OpenAI
    ``server_error`` chunk) as long as no text or reasoning has been delivered yet; all
    share the policy's bound. A service tier's "no capacity" refusal (flex's 429 Resource
    Unavailable) is retried within that bound too, unless ``retry_unavailable`` is False:
    another tier follows (``--tier flex,standard``) and takes the request at once."""
    attempts = 0
    started = delivered = False

    def retryable(exc: BaseException) -> bool:
        if not isinstance(exc, ProviderError) or not exc.retryable:
            return False
        if exc.tier_unavailable and not retry_unavailable:
            return False
        return not started or not (delivered or isinstance(exc, StreamCutError))

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_retries + 1),
        wait=retry_wait(policy),
        retry=retry_if_exception(retryable),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                attempts += 1
                started = delivered = False
                response = await _send(client, provider, url, headers, body)
                started = True
                try:
                    yield ResponseStarted(attempts)
                    async for event in _read(
                        response, provider, url, stream, read_stream, read_body
                    ):
                        delivered = delivered or isinstance(event, (TextDelta, ReasoningDelta))
                        yield event
                finally:
                    await response.aclose()
    except ProviderError as exc:  # an error body, or one inside the stream, may echo the key
        error = redacted(exc, secrets_in(headers, url))
        error.attempts = max(error.attempts, attempts)
        if not started and exc.retryable and attempts > 1:
            error.args = (f"{error.args[0]} (gave up after {attempts} attempts)",)
        raise error from exc.__cause__


async def _read(
    response: httpx.Response,
    provider: str,
    url: str,
    stream: bool,
    read_stream: StreamReader,
    read_body: BodyReader,
) -> AsyncIterator[StreamEvent]:
    content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "text/html":  # a web page (a login wall, a wrong base URL), not an API
        raise ProviderError(
            f"{provider}: {url} answered with a web page (text/html), not the API; "
            "is the base URL right?"
        )
    try:
        if stream and not is_json(response):
            async for event in read_stream(response):
                yield event
            return
        try:
            raw = await response.aread()
        except httpx.HTTPError as exc:
            raise read_error(provider, url, exc) from exc
        for event in read_body(raw):
            yield event
    except MALFORMED as exc:  # a reply of an unexpected shape, in any protocol's parser
        raise ProviderError(f"{provider}: malformed reply ({type(exc).__name__}: {exc})") from exc


class HttpProvider:
    """What every HTTP protocol's provider shares: one endpoint, one client, one retry
    policy, and the call itself (:func:`stream_call`). A protocol says where to send a
    request (:meth:`url`), what to send (:meth:`headers`, :meth:`body`) and how to read the
    answer (:meth:`read_stream`, :meth:`read_body`), and gives its ``capabilities``."""

    def __init__(self, endpoint: Endpoint, client: httpx.AsyncClient, policy: RetryPolicy) -> None:
        self.endpoint = endpoint
        self.name = endpoint.name
        self._client = client
        self._policy = policy

    async def aclose(self) -> None:
        await self._client.aclose()

    def check(self, request: ChatRequest) -> None:
        """Refuse a request before sending it (a missing key, by default)."""
        self.endpoint.check_key()

    key_header: ClassVar[str] = "Authorization"
    key_scheme: ClassVar[str] = "Bearer "
    """The header that carries the key, and what precedes the key in it."""

    def url(self, request: ChatRequest) -> str:
        raise NotImplementedError

    def protocol_headers(self) -> dict[str, str]:
        """Headers the protocol adds to every request (``Accept``, a version …)."""
        return {}

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **self.protocol_headers()}
        if self.endpoint.api_key:
            headers[self.key_header] = self.key_scheme + self.endpoint.api_key
        headers.update(self.endpoint.headers)
        return headers

    def body(self, request: ChatRequest) -> dict[str, Any]:
        raise NotImplementedError

    def tier_value(self, request: ChatRequest) -> str | None:
        """What the request's ``service_tier`` field says (None: no field), on an endpoint
        that has tiers (:mod:`think.tiers`)."""
        from think.tiers import wire_value

        if request.service_tier is None or not self.endpoint.service_tiers:
            return None
        return wire_value(self.endpoint.protocol, request.service_tier)  # type: ignore[arg-type]

    def read_stream(
        self, response: httpx.Response, request: ChatRequest, url: str
    ) -> AsyncIterator[StreamEvent]:
        """The events of a streamed response (raises StreamCutError if it ends early)."""
        raise NotImplementedError

    def read_body(self, raw: bytes, request: ChatRequest) -> Iterator[StreamEvent]:
        """The events of a whole JSON response body."""
        raise NotImplementedError

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        self.check(request)
        url = self.url(request)
        async for event in stream_call(
            self._client,
            provider=self.name,
            url=url,
            headers=self.headers(),
            body=self.body(request),
            policy=self._policy,
            stream=self.endpoint.stream,
            read_stream=lambda response: self.read_stream(response, request, url),
            read_body=lambda raw: self.read_body(raw, request),
            retry_unavailable=not request.tier_fallback,
        ):
            yield event


async def _send(
    client: httpx.AsyncClient,
    provider: str,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
) -> httpx.Response:
    """POST ``body``; a successful response comes back with its body not yet read."""
    request = client.build_request("POST", url, headers=dict(headers), json=body)
    return await send_request(client, provider, request)


async def send_request(
    client: httpx.AsyncClient, provider: str, request: httpx.Request
) -> httpx.Response:
    """Send ``request``; a failed exchange raises the error it maps to (transport failures
    and error statuses, with the status error's retry advice); a successful response comes
    back with its body not yet read."""
    url = str(request.url)
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
        raise status_error(provider, response.status_code, response.headers, raw)
    return response
