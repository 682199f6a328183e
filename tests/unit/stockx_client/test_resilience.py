"""Retries, Retry-After, the circuit breaker and the one forced token refresh, counted exactly."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from soleflip.common.stockx import (
    ClientConfig,
    RetryPolicy,
    StockXCircuitOpen,
    StockXClient,
    StockXRateLimited,
    StockXServerError,
    StockXTransportError,
    StockXUnauthorized,
    TokenTiming,
)
from soleflip.common.stockx._resilience import backoff_delay
from tests.support.wait import until
from tests.unit.stockx_client.conftest import (
    EXAMPLES,
    FakeStockX,
    Sleeps,
    build_client,
    json_response,
)

PRODUCT = EXAMPLES["GetProduct"]
TOO_MANY = {"statusCode": 429, "message": "Too Many Requests"}


async def test_429_with_retry_after_waits_exactly_that_long_then_succeeds(
    client: StockXClient, fake: FakeStockX, sleeps: Sleeps
) -> None:
    fake.queue = [
        json_response(429, TOO_MANY, **{"Retry-After": "7"}),
        json_response(429, TOO_MANY, **{"Retry-After": "3"}),
    ]
    fake.default = json_response(200, PRODUCT)
    product = await client.get_product("p1")
    assert product.product_id == PRODUCT["productId"]
    assert len(fake.api_calls) == 3
    assert sleeps.calls == [7.0, 3.0]


async def test_429_without_retry_after_backs_off_exponentially_until_the_call_deadline(
    fake: FakeStockX, sleeps: Sleeps
) -> None:
    # A rate limit uses up no attempt (max_attempts is 4): only the call's deadline ends it.
    fake.default = json_response(429, TOO_MANY)
    async with build_client(fake, sleeps, config=ClientConfig(call_timeout_s=6.0)) as client:
        with pytest.raises(StockXRateLimited):
            await client.get_product("p1")
    assert sleeps.calls == [0.5, 1.0, 2.0, 4.0]  # rng 0: half of 1, 2, 4, 8 s; 8 s > deadline
    assert len(fake.api_calls) == 5


async def test_429s_beyond_max_attempts_are_retried_until_the_answer_comes(
    client: StockXClient, fake: FakeStockX, sleeps: Sleeps
) -> None:
    fake.queue = [json_response(429, TOO_MANY) for _ in range(6)]
    fake.default = json_response(200, PRODUCT)
    assert (await client.get_product("p1")).product_id == PRODUCT["productId"]
    assert len(fake.api_calls) == 7


async def test_retry_after_longer_than_the_call_deadline_fails_at_once(
    fake: FakeStockX, sleeps: Sleeps
) -> None:
    config = ClientConfig(call_timeout_s=5.0)
    fake.default = json_response(429, TOO_MANY, **{"Retry-After": "3600"})
    async with build_client(fake, sleeps, config=config) as client:
        with pytest.raises(StockXRateLimited) as caught:
            await client.get_product("p1")
    assert len(fake.api_calls) == 1
    assert sleeps.calls == []
    assert caught.value.retry_after == 3600


async def test_5xx_burst_is_retried_a_bounded_number_of_times(
    client: StockXClient, fake: FakeStockX, sleeps: Sleeps
) -> None:
    fake.default = json_response(500, {"statusCode": 500, "message": "boom"})
    with pytest.raises(StockXServerError):
        await client.get_listing("l1")
    assert len(fake.api_calls) == 4
    assert len(sleeps.calls) == 3


async def test_5xx_then_success_returns_the_data(
    client: StockXClient, fake: FakeStockX, sleeps: Sleeps
) -> None:
    fake.queue = [json_response(502, {}), json_response(503, {})]
    fake.default = json_response(200, PRODUCT)
    assert (await client.get_product("p1")).product_id == PRODUCT["productId"]
    assert len(fake.api_calls) == 3


async def test_post_is_not_retried_on_5xx_because_it_may_have_taken_effect(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.default = json_response(500, {"message": "boom"})
    with pytest.raises(StockXServerError):
        await client.create_listing("v1", 100)
    assert len(fake.api_calls) == 1


async def test_timeouts_are_retried_for_reads(fake: FakeStockX, sleeps: Sleeps) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    fake.queue = [slow, slow]
    fake.default = json_response(200, PRODUCT)
    async with build_client(fake, sleeps) as client:
        await client.get_product("p1")
    assert len(fake.api_calls) == 3


async def test_post_timeout_is_not_retried(fake: FakeStockX, sleeps: Sleeps) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    fake.default = slow
    async with build_client(fake, sleeps) as client:
        with pytest.raises(StockXTransportError):
            await client.create_listing("v1", 100)
    assert len(fake.api_calls) == 1


async def test_circuit_opens_after_sustained_failures_and_fails_fast(
    fake: FakeStockX, sleeps: Sleeps
) -> None:
    config = ClientConfig(
        retry=RetryPolicy(max_attempts=1), breaker_threshold=3, breaker_reset_s=0.2
    )
    fake.default = json_response(500, {"message": "down"})
    async with build_client(fake, sleeps, config=config) as client:
        for _ in range(3):
            with pytest.raises(StockXServerError):
                await client.get_product("p1")
        assert client.circuit_state == "open"
        for _ in range(5):
            with pytest.raises(StockXCircuitOpen):
                await client.get_product("p1")
        assert len(fake.api_calls) == 3  # no call went out while open


async def test_half_open_probe_failure_reopens_and_success_closes(
    fake: FakeStockX, sleeps: Sleeps
) -> None:
    config = ClientConfig(
        retry=RetryPolicy(max_attempts=1), breaker_threshold=2, breaker_reset_s=0.1
    )
    fake.default = json_response(500, {"message": "down"})
    async with build_client(fake, sleeps, config=config) as client:
        for _ in range(2):
            with pytest.raises(StockXServerError):
                await client.get_product("p1")
        await asyncio.sleep(0.12)
        assert client.circuit_state == "half_open"
        with pytest.raises(StockXServerError):  # the probe goes out and fails
            await client.get_product("p1")
        assert client.circuit_state == "open"
        assert len(fake.api_calls) == 3
        await asyncio.sleep(0.12)
        fake.default = json_response(200, PRODUCT)
        await client.get_product("p1")  # the probe succeeds
        assert client.circuit_state == "closed"
        await client.get_product("p1")
        assert len(fake.api_calls) == 5


async def test_half_open_lets_exactly_one_probe_through(fake: FakeStockX, sleeps: Sleeps) -> None:
    config = ClientConfig(
        retry=RetryPolicy(max_attempts=1), breaker_threshold=1, breaker_reset_s=0.05
    )
    fake.queue = [json_response(500, {})]
    release = asyncio.Event()

    async def slow_ok(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return json_response(200, PRODUCT)

    fake.default = slow_ok  # type: ignore[assignment]
    async with build_client(fake, sleeps, config=config) as client:
        with pytest.raises(StockXServerError):
            await client.get_product("p1")
        await asyncio.sleep(0.06)
        probe = asyncio.create_task(client.get_product("p1"))
        await until(lambda: len(fake.api_calls) == 2, 2)
        for _ in range(3):
            with pytest.raises(StockXCircuitOpen):
                await client.get_product("p1")
        release.set()
        await probe
        assert client.circuit_state == "closed"
        assert len(fake.api_calls) == 2


async def test_401_forces_exactly_one_refresh_and_retries_once(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.queue = [json_response(401, {"message": "expired"})]
    fake.default = json_response(200, PRODUCT)
    await client.get_product("p1")
    assert len(fake.token_calls) == 2  # the first token, then the forced refresh
    assert [fake.bearer(0), fake.bearer(1)] == ["access-1", "access-2"]


async def test_persistent_401_gives_up_after_one_refresh(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.default = json_response(401, {"message": "bad api key"})
    with pytest.raises(StockXUnauthorized):
        await client.get_product("p1")
    assert len(fake.api_calls) == 2
    assert len(fake.token_calls) == 2


async def test_concurrent_401s_share_one_forced_refresh(
    client: StockXClient, fake: FakeStockX
) -> None:
    def reject_first_token(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer access-1":
            return json_response(401, {"message": "expired"})
        return json_response(200, PRODUCT)

    fake.default = reject_first_token
    await asyncio.gather(*(client.get_product("p1") for _ in range(10)))
    assert len(fake.token_calls) == 2
    assert fake.bearer(-1) == "access-2"


async def test_a_fresh_token_rejected_again_and_again_is_not_refreshed_on_every_call(
    fake: FakeStockX, sleeps: Sleeps
) -> None:
    fake.default = json_response(401, {"message": "invalid api key"})
    timing = TokenTiming(min_forced_refresh_s=30.0)
    async with build_client(fake, sleeps, timing=timing) as client:
        for _ in range(3):
            with pytest.raises(StockXUnauthorized, match="SOLEFLIP_STOCKX_API_KEY"):
                await client.get_product("p1")
    assert len(fake.token_calls) == 1
    assert len(fake.api_calls) == 3


async def test_a_401_refresh_does_not_use_up_a_retry(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.queue = [json_response(401, {}), *(json_response(503, {}) for _ in range(3))]
    fake.default = json_response(200, PRODUCT)
    await client.get_product("p1")
    assert len(fake.api_calls) == 5


@pytest.mark.parametrize(("rng", "delays"), [(0.0, [0.5, 1, 2, 4, 5]), (1.0, [1, 2, 4, 8, 10])])
def test_backoff_doubles_with_jitter_in_its_upper_half_and_is_capped(
    rng: float, delays: list[float]
) -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=10.0)
    assert [backoff_delay(retry, policy, lambda: rng) for retry in range(1, 6)] == delays


async def test_a_young_token_rejected_at_the_end_of_its_life_is_refreshed(
    fake: FakeStockX, sleeps: Sleeps
) -> None:
    fake.expires_in = 3  # younger than the 30-s guard, yet already within its expiry margin
    fake.queue = [json_response(401, {"message": "token expired"})]
    fake.default = json_response(200, PRODUCT)
    async with build_client(fake, sleeps, timing=TokenTiming(min_forced_refresh_s=30.0)) as client:
        await client.get_product("p1")
    assert len(fake.token_calls) == 2
    assert [fake.bearer(0), fake.bearer(1)] == ["access-1", "access-2"]
