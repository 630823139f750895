"""The batch APIs (OpenAI ``/v1/files`` + ``/v1/batches``, Anthropic Message Batches) against
the loopback fakes: submit, poll with backoff, results matched by custom id and priced at the
batch price, partly failed and expired jobs, cancel, HTTP errors, and the poll deadline.

Time is a fake clock advanced by the fake sleep, so waits are recorded, never spent."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from tests.fakes.anthropic_batch_server import FakeAnthropicBatchServer
from tests.fakes.anthropic_server import rate_limited as anthropic_rate_limited
from tests.fakes.batch_plan import BatchPlan
from tests.fakes.behaviours import JSONDict
from tests.fakes.loopback import LoopbackServer, serving
from tests.fakes.openai_batch_server import FakeOpenAIBatchServer
from tests.fakes.openai_server import rate_limited as openai_rate_limited
from tests.provider_support import FAST, QUICK, chat, preset
from think.errors import AuthError, ProviderError, UsageError
from think.pricing import ModelPrice, lookup_price
from think.providers.anthropic_batches import AnthropicBatches
from think.providers.anthropic_messages import AnthropicMessagesProvider
from think.providers.base import Message
from think.providers.batch_jobs import (
    BatchApi,
    BatchPending,
    BatchRequest,
    BatchResults,
    PollPolicy,
    results,
    run,
    wait,
)
from think.providers.endpoint import Endpoint
from think.providers.http import make_client
from think.providers.openai_batches import OpenAIBatches
from think.providers.openai_chat import OpenAIChatProvider
from think.providers.options import ProviderOptions
from think.providers.presets import PRESETS
from think.providers.registry import ProviderCatalog, open_batch_api
from think.tiers.prices import batch_price

T = TypeVar("T")
KEY = "sk-test-batch-0123456789abcdef"
POLICY = PollPolicy(initial=5.0, factor=2.0, max_interval=60.0, deadline=3600.0)
N = 50


def answer(body: JSONDict, index: int) -> str:
    """Each answer names its question, so a result matched to the wrong id shows."""
    return f"answer to {body['messages'][-1]['content']}"


@dataclass
class FakeTime:
    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@dataclass(frozen=True)
class Kit:
    preset: str
    server: type[LoopbackServer]
    api: Callable[..., BatchApi]
    model: str
    rate_limited: Callable[..., Any]


KITS = {
    "openai": Kit(
        "openai", FakeOpenAIBatchServer, OpenAIBatches, "gpt-4o-mini", openai_rate_limited
    ),
    "anthropic": Kit(
        "anthropic",
        FakeAnthropicBatchServer,
        AnthropicBatches,
        "claude-haiku-4-5",
        anthropic_rate_limited,
    ),
}


@pytest.fixture(params=list(KITS))
def kit(request: pytest.FixtureRequest) -> Kit:
    return KITS[request.param]


@pytest.fixture
def server(kit: Kit) -> Iterator[Any]:
    yield from serving(kit.server(require_api_key=KEY, answer=answer))


def endpoint(kit: Kit, server: Any, key: str = KEY) -> Endpoint:
    return preset(kit.preset, server.base_url, key)


def requests(kit: Kit, n: int = N) -> list[BatchRequest]:
    return [
        BatchRequest(
            f"q-{i:02d}",
            chat(
                kit.model,
                messages=(Message("system", "Be brief."), Message("user", f"question {i}")),
            ),
        )
        for i in range(n)
    ]


def standard_price(kit: Kit, model: str) -> ModelPrice | None:
    return lookup_price(
        kit.preset, model, price_provider=PRESETS[kit.preset].price_provider, overrides={}
    )


def with_api(
    kit: Kit,
    server: Any,
    clock: FakeTime,
    scenario: Callable[[BatchApi], Awaitable[T]],
    key: str = KEY,
) -> T:
    async def go() -> T:
        api = kit.api(endpoint(kit, server, key), make_client(QUICK), FAST, sleep=clock.sleep)
        try:
            return await scenario(api)
        finally:
            await api.aclose()

    return asyncio.run(go())


def run_all(kit: Kit, server: Any, clock: FakeTime, batch: list[BatchRequest]) -> BatchResults:
    def price_for(model: str) -> ModelPrice | None:
        return standard_price(kit, model)

    return with_api(
        kit,
        server,
        clock,
        lambda api: run(
            api, batch, POLICY, price_for=price_for, sleep=clock.sleep, clock=clock.clock
        ),
    )


# --------------------------------------------------------------------------------------------
# A whole job


def test_fifty_requests_come_back_matched_by_custom_id_at_the_batch_price(
    kit: Kit, server: Any
) -> None:
    server.script_batches(BatchPlan(polls=3))
    clock = FakeTime()
    got = run_all(kit, server, clock, requests(kit))

    assert got.job.outcome == "completed"
    assert got.job.counts.succeeded == N
    assert list(got.items) == [f"q-{i:02d}" for i in range(N)]  # the submitted order
    price = standard_price(kit, kit.model)
    assert price is not None
    for i, item in enumerate(got.items.values()):
        assert item.ok
        assert item.text == f"answer to question {i}"
        assert item.usage is not None
        assert (item.usage.input_tokens, item.usage.output_tokens) == (4, 4)
        assert item.cost.usd == price.cost(item.usage) / 2
        assert item.cost.usd == batch_price(price, kit.preset).cost(item.usage)  # type: ignore[union-attr]
    assert got.cost.usd == sum(item.cost.usd for item in got.items.values())  # type: ignore[misc]
    assert clock.sleeps == [5.0, 10.0]  # three polls, backing off


def test_each_request_carries_the_body_a_normal_call_sends_without_streaming(
    kit: Kit, server: Any
) -> None:
    batch = requests(kit, 3)
    run_all(kit, server, FakeTime(), batch)
    plain = dataclasses.replace(endpoint(kit, server), stream=False)
    if kit.preset == "openai":
        builder = OpenAIChatProvider(plain, make_client(QUICK), FAST)
        (lines,) = server.uploads
        assert [line["url"] for line in lines] == ["/v1/chat/completions"] * 3
        sent = {line["custom_id"]: line["body"] for line in lines}
        create = next(r for r in server.requests if r.route == "/v1/batches")
        assert create.json == {
            "input_file_id": create.json["input_file_id"],
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        }
        upload = next(r for r in server.requests if r.route == "/v1/files")
        assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    else:
        builder = AnthropicMessagesProvider(plain, make_client(QUICK), FAST)
        (create,) = server.batch_creates
        sent = {entry["custom_id"]: entry["params"] for entry in create.json["requests"]}
    assert sent == {item.custom_id: builder.body(item.request) for item in batch}
    assert all("stream" not in body for body in sent.values())


# --------------------------------------------------------------------------------------------
# Partly failed, expired, cancelled


def test_an_expired_job_returns_what_came_back_and_says_what_did_not(kit: Kit, server: Any) -> None:
    errored = frozenset({"q-03", "q-07"})
    server.script_batches(BatchPlan(polls=2, outcome="expired", finished=30, errored=errored))
    got = run_all(kit, server, FakeTime(), requests(kit))

    assert got.job.outcome == "expired"
    statuses = [item.status for item in got.items.values()]
    assert statuses.count("succeeded") == 28
    assert statuses.count("errored") == 2
    assert statuses.count("expired") == 20
    for custom_id in errored:
        item = got.items[custom_id]
        assert "max_tokens" in (item.error or "")
        assert item.cost.usd == 0
    assert all(got.items[f"q-{i}"].status == "expired" for i in range(30, N))
    assert all(got.items[f"q-{i}"].cost.usd == 0 for i in range(30, N))
    if kit.preset == "openai":
        assert got.items["q-03"].status_code == 400
        assert (got.items["q-40"].error or "").startswith("batch_expired:")
    assert got.summary().endswith("expired: 28 succeeded, 2 errored, 20 expired")
    assert {item.custom_id for item in got.failed} == errored | {f"q-{i}" for i in range(30, N)}


def test_an_id_the_provider_never_returned_is_reported_missing(kit: Kit, server: Any) -> None:
    batch = requests(kit, 2)

    async def scenario(api: BatchApi) -> BatchResults:
        job = await api.submit(batch)
        job = await wait(api, job.id, POLICY, sleep=FakeTime().sleep)
        expected = {"q-00": kit.model, "q-01": kit.model, "never-sent": kit.model}
        return await results(api, job, expected=expected)

    got = with_api(kit, server, FakeTime(), scenario)
    assert got.items["never-sent"].status == "missing"
    assert "no result" in (got.items["never-sent"].error or "")
    assert got.items["q-00"].ok
    assert got.items["q-00"].cost.usd is None


def test_cancel_returns_the_finished_items_and_cancels_the_rest(kit: Kit, server: Any) -> None:
    server.script_batches(BatchPlan(polls=10))
    clock = FakeTime()

    async def scenario(api: BatchApi) -> tuple[Any, Any, BatchResults]:
        job = await api.submit(requests(kit, 10))
        running = await api.status(job.id)  # 1 of 10 polls: one item done
        cancelling = await api.cancel(job.id)
        ended = await wait(api, job.id, POLICY, sleep=clock.sleep, clock=clock.clock)
        return running, cancelling, await results(api, ended)

    running, cancelling, got = with_api(kit, server, clock, scenario)
    assert not running.ended
    assert not cancelling.ended
    assert cancelling.status in ("cancelling", "canceling")
    assert got.job.outcome == "cancelled"
    assert [item.status for item in got.items.values()].count("succeeded") == 2
    assert [item.status for item in got.items.values()].count("canceled") == 8


def test_cancelling_an_ended_openai_job_is_a_provider_error() -> None:
    kit = KITS["openai"]
    with FakeOpenAIBatchServer(require_api_key=KEY) as server:

        async def scenario(api: BatchApi) -> None:
            job = await api.submit(requests(kit, 1))
            await wait(api, job.id, POLICY, sleep=FakeTime().sleep)
            await api.cancel(job.id)

        with pytest.raises(
            ProviderError, match="HTTP 409: Cannot cancel a batch with status 'completed'"
        ):
            with_api(kit, server, FakeTime(), scenario)


# --------------------------------------------------------------------------------------------
# HTTP errors


def test_a_wrong_key_is_an_auth_error(kit: Kit, server: Any) -> None:
    async def scenario(api: BatchApi) -> Any:
        return await api.submit(requests(kit, 1))

    with pytest.raises(AuthError, match="HTTP 401") as caught:
        with_api(kit, server, FakeTime(), scenario, key="sk-wrong-key-0000000000")
    assert "sk-wrong-key-0000000000" not in str(caught.value)


def test_429_on_create_waits_the_retry_after_then_creates(kit: Kit, server: Any) -> None:
    server.script_batches(kit.rate_limited(retry_after="7"), BatchPlan())
    clock = FakeTime()

    async def scenario(api: BatchApi) -> Any:
        return await api.submit(requests(kit, 2))

    job = with_api(kit, server, clock, scenario)
    assert job.id
    assert not job.ended
    assert clock.sleeps == [7.0]
    creates = [r for r in server.requests if r.route.endswith("/batches") and r.method == "POST"]
    assert len(creates) == 2


def test_an_unknown_job_id_is_a_provider_error(kit: Kit, server: Any) -> None:
    async def scenario(api: BatchApi) -> Any:
        return await api.status("batch_nope")

    with pytest.raises(ProviderError, match="HTTP 404") as caught:
        with_api(kit, server, FakeTime(), scenario)
    assert not caught.value.retryable


def test_requests_the_api_would_refuse_are_refused_before_sending(kit: Kit, server: Any) -> None:
    async def submit(batch: list[BatchRequest]) -> Any:
        return await with_api_async(kit, server, batch)

    twice = requests(kit, 1) * 2
    with pytest.raises(UsageError, match="unique"):
        asyncio.run(submit(twice))
    with pytest.raises(UsageError, match="at least one"):
        asyncio.run(submit([]))
    assert server.requests == []


async def with_api_async(kit: Kit, server: Any, batch: list[BatchRequest]) -> Any:
    api = kit.api(endpoint(kit, server), make_client(QUICK), FAST)
    try:
        return await api.submit(batch)
    finally:
        await api.aclose()


def test_openai_needs_one_model_per_job_anthropic_does_not() -> None:
    mixed = [
        BatchRequest("a", chat("gpt-4o-mini")),
        BatchRequest("b", chat("gpt-4o")),
    ]
    with FakeOpenAIBatchServer() as server, pytest.raises(UsageError, match="one model"):
        asyncio.run(with_api_async(KITS["openai"], server, mixed))
    kit = KITS["anthropic"]
    with FakeAnthropicBatchServer(known_models=["claude-haiku-4-5"]) as server:
        batch = [BatchRequest("a", chat("claude-haiku-4-5")), BatchRequest("b", chat("claude-x-9"))]
        got = run_all(kit, server, FakeTime(), batch)
    assert got.items["a"].ok
    assert got.items["b"].status == "errored"
    assert "not_found_error" in (got.items["b"].error or "")


def test_anthropic_custom_ids_must_match_the_api_pattern() -> None:
    with FakeAnthropicBatchServer() as server, pytest.raises(UsageError, match="1-64"):
        asyncio.run(with_api_async(KITS["anthropic"], server, [BatchRequest("a b", chat("x"))]))


# --------------------------------------------------------------------------------------------
# Bounded polling, and status / cancel by provider name


def test_a_job_that_never_ends_gives_up_at_the_deadline_naming_the_job(
    kit: Kit, server: Any
) -> None:
    server.script_batches(BatchPlan(polls=10**9))
    clock = FakeTime()
    policy = PollPolicy(initial=5.0, factor=2.0, max_interval=60.0, deadline=600.0)

    async def scenario(api: BatchApi) -> Any:
        job = await api.submit(requests(kit, 3))
        try:
            await wait(api, job.id, policy, sleep=clock.sleep, clock=clock.clock)
        except BatchPending as pending:
            return job, pending
        raise AssertionError("wait returned")

    job, pending = with_api(kit, server, clock, scenario)
    assert pending.job.id == job.id
    assert not pending.job.ended
    assert f"batch {job.id} is still" in str(pending)
    assert f"think batch status {job.id}" in str(pending)
    assert sum(clock.sleeps) == 600.0  # the deadline, never past it
    assert clock.sleeps[:4] == [5.0, 10.0, 20.0, 40.0]
    assert max(clock.sleeps) == 60.0


def test_status_and_cancel_by_provider_name(
    kit: Kit, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"openai": "OPENAI", "anthropic": "ANTHROPIC"}[kit.preset]
    monkeypatch.setenv(f"{env}_BASE_URL", server.base_url)
    monkeypatch.setenv(f"{env}_API_KEY", KEY)
    server.script_batches(BatchPlan(polls=5))

    async def scenario() -> tuple[Any, Any]:
        api = ProviderCatalog().batch_api(kit.preset)
        try:
            job = await api.submit(requests(kit, 4))
        finally:
            await api.aclose()
        later = open_batch_api(ProviderCatalog().endpoint(kit.preset), ProviderOptions())
        try:
            return await later.status(job.id), await later.cancel(job.id)
        finally:
            await later.aclose()

    status, cancelled = asyncio.run(scenario())
    assert status.provider == kit.preset
    assert status.counts.total == 4
    assert not status.ended
    assert cancelled.id == status.id


def test_a_protocol_without_a_batch_api_is_a_usage_error() -> None:
    gemini = dataclasses.replace(PRESETS["gemini"], api_key=KEY)
    with pytest.raises(UsageError, match="no batch API"):
        open_batch_api(gemini, ProviderOptions())
