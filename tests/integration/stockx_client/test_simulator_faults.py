"""Faults injected through the simulator's `PUT /_sim/faults`, served in its own process: each
test counts the requests the simulator saw and checks what the caller got."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import nats
import pytest

from soleflip.common.bus.names import Names
from soleflip.common.crypto import Crypto
from soleflip.common.settings import Settings
from soleflip.common.stockx import (
    ClientConfig,
    RetryPolicy,
    StockXAuthError,
    StockXCircuitOpen,
    StockXClient,
    StockXNotFound,
    StockXRateLimited,
    StockXServerError,
    StockXTransportError,
    TokenTiming,
)
from tests.integration.stockx_client.conftest import SIM_CREDENTIALS, ServedSim

pytest.importorskip("soleflip.stockx_sim")
pytestmark = pytest.mark.usefixtures("kv_cleanup")

#: fast backoff (50 ms, 100 ms, ...) so a test spends its time on the simulator, not asleep
FAST = RetryPolicy(max_attempts=4, base_delay_s=0.1)
#: one key for every client of a test, like the replicas of a deployment
FERNET_KEY = Crypto.generate_key()


@pytest.fixture
def sim(start_sim: Callable[..., ServedSim]) -> ServedSim:
    return start_sim(rate_per_s=0)


@asynccontextmanager
async def client_for(
    sim: ServedSim,
    nats_url: str,
    names: Names,
    config: ClientConfig,
    timing: TokenTiming | None = None,
    refresh_token: str = SIM_CREDENTIALS["stockx_refresh_token"],
) -> AsyncIterator[StockXClient]:
    """The production client (NATS-shared token and budget) pointed at the served simulator."""
    settings = Settings(
        stockx_api_url=f"{sim.url}/v2",
        stockx_auth_url=sim.url,
        stockx_rate_per_s=100,
        fernet_keys=(FERNET_KEY,),
        stockx_client_id=SIM_CREDENTIALS["stockx_client_id"],
        stockx_client_secret=SIM_CREDENTIALS["stockx_client_secret"],
        stockx_api_key=SIM_CREDENTIALS["stockx_api_key"],
        stockx_refresh_token=refresh_token,
    )
    nc = await nats.connect(nats_url)
    try:
        built = await StockXClient.connect(
            settings, nc.jetstream(), names=names, config=config, timing=timing
        )
        async with built:
            yield built
    finally:
        await nc.close()


def statuses(sim: ServedSim) -> list[int]:
    return [int(r["status"]) for r in sim.api_requests()]


async def test_a_429_storm_is_waited_out_per_retry_after_until_the_call_deadline(
    sim: ServedSim, nats_url: str, names: Names
) -> None:
    product = sim.a_product_id()
    sim.faults(storm_s=60, retry_after_s=1)
    config = ClientConfig(call_timeout_s=3.5, retry=RetryPolicy(max_attempts=2))
    async with client_for(sim, nats_url, names, config) as client:
        started = time.monotonic()
        with pytest.raises(StockXRateLimited):
            await client.get_product(product)
        elapsed = time.monotonic() - started
    # A rate limit uses up no attempt: more than max_attempts, each after `Retry-After: 1`.
    seen = statuses(sim)
    assert set(seen) == {429}
    assert 3 <= len(seen) <= 4
    assert elapsed >= 2.0


async def test_a_429_storm_that_ends_is_ridden_out_without_retry_after(
    sim: ServedSim, nats_url: str, names: Names
) -> None:
    product = sim.a_product_id()
    sim.faults(storm_s=5)  # longer than max_attempts (4) retries of exponential backoff
    async with client_for(sim, nats_url, names, ClientConfig(retry=FAST)) as client:
        assert (await client.get_product(product)).product_id == product
    seen = statuses(sim)
    assert seen[-1] == 200
    assert set(seen[:-1]) == {429}
    assert len(seen) > 4


async def test_a_5xx_burst_is_retried_a_bounded_number_of_times_then_recovers(
    sim: ServedSim, nats_url: str, names: Names
) -> None:
    product = sim.a_product_id()
    sim.faults(error_rate=1.0)
    async with client_for(sim, nats_url, names, ClientConfig(retry=FAST)) as client:
        with pytest.raises(StockXServerError):
            await client.get_product(product)
        assert len(statuses(sim)) == 4
        assert all(status >= 500 for status in statuses(sim))
        sim.faults(error_rate=0.0)
        assert (await client.get_product(product)).product_id == product
    assert len(statuses(sim)) == 5


async def test_timeouts_are_retried_for_reads_but_never_for_a_listing_create(
    sim: ServedSim, nats_url: str, names: Names
) -> None:
    product = sim.a_product_id()
    sim.faults(latency_ms=800)
    config = ClientConfig(
        request_timeout_s=0.2, retry=RetryPolicy(max_attempts=3, base_delay_s=0.1)
    )
    async with client_for(sim, nats_url, names, config) as client:
        with pytest.raises(StockXTransportError, match="timeout"):
            await client.get_product(product)
        assert len(sim.api_requests()) == 3
        with pytest.raises(StockXTransportError, match="timeout"):
            await client.create_listing("any-variant", 150)
    methods = [r["method"] for r in sim.api_requests()]
    assert methods == ["GET", "GET", "GET", "POST"]  # a POST that timed out may have landed


async def test_the_circuit_opens_fails_fast_and_half_opens_to_one_probe(
    sim: ServedSim, nats_url: str, names: Names
) -> None:
    product = sim.a_product_id()
    sim.faults(error_rate=1.0)
    config = ClientConfig(
        retry=RetryPolicy(max_attempts=1), breaker_threshold=3, breaker_reset_s=0.5
    )
    async with client_for(sim, nats_url, names, config) as client:
        for _ in range(3):
            with pytest.raises(StockXServerError):
                await client.get_product(product)
        assert client.circuit_state == "open"
        for _ in range(5):
            with pytest.raises(StockXCircuitOpen):
                await client.get_product(product)
        assert len(statuses(sim)) == 3  # nothing went out while open
        await asyncio.sleep(0.55)
        with pytest.raises(StockXServerError):  # the half-open probe fails: open again
            await client.get_product(product)
        assert (client.circuit_state, len(statuses(sim))) == ("open", 4)
        await asyncio.sleep(0.55)
        sim.faults(error_rate=0.0)
        await client.get_product(product)  # the probe succeeds: closed
        assert client.circuit_state == "closed"
        await client.get_product(product)
    assert statuses(sim)[-2:] == [200, 200]
    assert len(statuses(sim)) == 6


async def test_revoked_tokens_cost_one_forced_refresh_and_one_retry(
    sim: ServedSim, nats_url: str, names: Names
) -> None:
    product = sim.a_product_id()
    timing = TokenTiming(min_forced_refresh_s=0.0)  # the token is seconds old when revoked
    async with client_for(sim, nats_url, names, ClientConfig(), timing) as client:
        await client.get_product(product)
        sim.faults(expire_tokens=True)
        await client.get_product(product)
    assert statuses(sim) == [200, 401, 200]
    assert [g["status"] for g in sim.token_requests()] == [200, 200]


async def test_a_stale_product_id_is_not_found_without_a_retry(
    sim: ServedSim, nats_url: str, names: Names
) -> None:
    product = sim.a_product_id()
    sim.faults(stale_product_ids=[product])
    async with client_for(sim, nats_url, names, ClientConfig(retry=FAST)) as client:
        with pytest.raises(StockXNotFound):
            await client.get_product(product)
    assert statuses(sim) == [404]


async def test_a_dead_refresh_token_is_one_token_request_and_a_clear_error_everywhere(
    sim: ServedSim, nats_url: str, names: Names
) -> None:
    product = sim.a_product_id()
    config = ClientConfig(retry=FAST)
    async with (
        client_for(sim, nats_url, names, config, refresh_token="revoked") as first,
        client_for(sim, nats_url, names, config, refresh_token="revoked") as second,
    ):
        for client in (first, second, first, second):
            with pytest.raises(StockXAuthError, match="SOLEFLIP_STOCKX_REFRESH_TOKEN"):
                await client.get_product(product)
    assert [(g["grant_type"], g["status"]) for g in sim.token_requests()] == [
        ("refresh_token", 403)
    ]
    assert sim.api_requests() == []
