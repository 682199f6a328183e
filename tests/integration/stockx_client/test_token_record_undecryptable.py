"""A token record in `stockx_auth` that SOLEFLIP_FERNET_KEYS no longer decrypts (keys changed
without rotation, a new deployment on an old NATS): re-seeded from the configured refresh token,
else a clear re-authorize error that `/health/ready` shows and a metric counts. Real NATS KV, the
simulator's token endpoint in its own process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import nats
import pytest
import structlog
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from soleflip.common.bus.names import Names
from soleflip.common.crypto import Crypto
from soleflip.common.db import migrate
from soleflip.common.http import create_app
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.settings import Settings
from soleflip.common.stockx import StockXAuthError, StockXClient
from tests.integration.stockx_client.conftest import SIM_CREDENTIALS, ServedSim

pytest.importorskip("soleflip.stockx_sim")
pytestmark = pytest.mark.usefixtures("kv_cleanup")

OLD_KEY, NEW_KEY = Crypto.generate_key(), Crypto.generate_key()
METRIC = "soleflip_stockx_token_record_undecryptable_total"


@pytest.fixture
def sim(start_sim: Callable[..., ServedSim]) -> ServedSim:
    return start_sim(rate_per_s=0)


def settings_for(sim: ServedSim, nats_url: str, names: Names, key: str, **extra: Any) -> Settings:
    values = {**SIM_CREDENTIALS, **extra}
    return Settings(
        stockx_api_url=f"{sim.url}/v2",
        stockx_auth_url=sim.url,
        stockx_rate_per_s=100,
        fernet_keys=(key,),
        nats_url=(nats_url,),
        nats_prefix=names.prefix,
        **values,
    )


@asynccontextmanager
async def client_with(settings: Settings, names: Names) -> AsyncIterator[StockXClient]:
    nc = await nats.connect(settings.nats_url[0])
    try:
        async with await StockXClient.connect(settings, nc.jetstream(), names=names) as client:
            yield client
    finally:
        await nc.close()


def undecryptable(action: str) -> float:
    return REGISTRY.get_sample_value(METRIC, {"action": action}) or 0.0


async def record_written_with_the_old_key(sim: ServedSim, nats_url: str, names: Names) -> None:
    async with client_with(settings_for(sim, nats_url, names, OLD_KEY), names) as old:
        await old.get_product(sim.a_product_id())
    assert len(sim.token_requests()) == 1


async def test_a_configured_refresh_token_reseeds_the_record_once_and_calls_go_on(
    sim: ServedSim, nats_url: str, names: Names
) -> None:
    await record_written_with_the_old_key(sim, nats_url, names)
    before = undecryptable("reseeded")
    new = settings_for(sim, nats_url, names, NEW_KEY)

    with structlog.testing.capture_logs() as logs:
        async with client_with(new, names) as first:
            await first.get_product(sim.a_product_id())
            assert first.auth_problem is None
        async with client_with(new, names) as second:  # another replica, the same new key
            await second.get_product(sim.a_product_id())

    assert [r["grant_type"] for r in sim.token_requests()] == ["refresh_token"] * 2
    assert undecryptable("reseeded") == before + 1  # the second replica read the new record
    reseeded = [e for e in logs if e["event"] == "stockx.token_record_reseeded"]
    assert [e["log_level"] for e in reseeded] == ["error"]


async def test_without_a_refresh_token_calls_fail_with_the_reauthorize_message_and_ready_shows_it(
    sim: ServedSim, nats_url: str, names: Names, fresh_database: str, tmp_path: Path
) -> None:
    await migrate(fresh_database, "orders", tmp_path)  # the library's tables are enough here
    await record_written_with_the_old_key(sim, nats_url, names)
    before = undecryptable("failed")
    settings = settings_for(
        sim, nats_url, names, NEW_KEY, stockx_refresh_token="", database_url=fresh_database
    )
    runtime = ServiceRuntime("orders", settings, streams=["INGEST"])
    app = create_app(
        service="orders",
        settings=settings,
        lifespan=[runtime.lifespan],
        readiness=runtime.readiness,
    )
    async with AsyncTestClient(app) as api:
        assert (await api.get("/health/ready")).json()["checks"]["stockx_auth"] == "ok"
        for _ in range(2):
            with pytest.raises(StockXAuthError, match=r"SOLEFLIP_FERNET_KEYS.*re-authorize"):
                await runtime.stockx.get_product(sim.a_product_id())
        ready = await api.get("/health/ready")

    assert ready.status_code == 200  # reported, not blocking: the service serves what it holds
    assert ready.json()["checks"]["stockx_auth"].startswith("degraded: StockX credentials fail")
    assert undecryptable("failed") == before + 2
    assert len(sim.token_requests()) == 1  # no token request without a refresh token
    assert REGISTRY.get_sample_value("soleflip_stockx_auth_failing") == 1.0
