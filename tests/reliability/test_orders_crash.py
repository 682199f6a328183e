# ruff: noqa: F811 - the orders fixtures are imported into this module, then requested by name
"""Crash safety: `kill -9` of the orders process mid-burst, restart → every event applied once.

5,000 events (1,000 orders through five statuses each) go to INGEST in chunks while a real
`soleflip serve orders` process consumes them; it is killed with SIGKILL part-way and started
again. Inbox claims, rows and outbox commit in one transaction per batch, so afterwards every
order is at its last status and the status history holds exactly one row per event.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from soleflip.common.bus import Names, Publisher, connect, ensure_streams, stream_spec
from soleflip.common.settings import Settings
from tests.integration.orders.conftest import orders_dsn, orders_settings  # noqa: F401 - fixtures
from tests.integration.orders.support import (
    event,
    free_port,
    order_resource,
    publish_events,
)
from tests.support.sim import env_for
from tests.support.wait import until

pytestmark = pytest.mark.slow
SOLEFLIP = Path(sys.executable).parent / "soleflip"
STATUSES = ("CREATED", "SHIPPED", "RECEIVED", "AUTHENTICATING", "AUTHENTICATED")
ORDERS = 1000


def _env(settings: Settings) -> dict[str, str]:
    return env_for(settings) | {"SOLEFLIP_POLL_INTERVAL_S": "3600"}


class OrdersProcess:
    """`soleflip serve orders` as a child process that a test can SIGKILL and start again."""

    def __init__(self, settings: Settings) -> None:
        self.env, self.port = _env(settings), free_port()
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            str(SOLEFLIP), "serve", "orders", "--port", str(self.port), env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        async with httpx.AsyncClient() as client:

            async def ready() -> bool:
                try:
                    url = f"http://127.0.0.1:{self.port}/health/ready"
                    return (await client.get(url)).status_code == 200
                except httpx.HTTPError:
                    return False

            await until(ready, 30, interval=0.1)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await asyncio.wait_for(self.proc.wait(), 30)


@pytest.fixture
async def orders_process(orders_settings: Settings) -> AsyncIterator[OrdersProcess]:
    process = OrdersProcess(orders_settings)
    yield process
    await process.stop()


def _burst() -> list[dict[str, Any]]:
    return [
        event(
            "stockx.order.updated",
            order_resource(f"9-{n:06d}", status, f"2026-01-01T{10 + step:02d}:00:00.000Z"),
        )
        for step, status in enumerate(STATUSES)
        for n in range(ORDERS)
    ]


async def _count(dsn: str, sql: str) -> int:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "orders"})
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def test_kill_9_mid_burst_applies_every_event_exactly_once(
    orders_settings: Settings, orders_dsn: str, orders_process: OrdersProcess
) -> None:
    names = Names(orders_settings.nats_prefix)
    nc = await connect(orders_settings.nats_url, name="test-publisher")
    try:
        await ensure_streams(nc.jetstream(), names, specs=[stream_spec("INGEST")])
        await orders_process.start()
        burst = _burst()
        publisher = Publisher(nc.jetstream(), names)
        claims = "SELECT count(*) FROM inbox WHERE consumer = 'orders-ingest'"
        for start in range(0, len(burst), 500):
            await publish_events(publisher, burst[start : start + 500])
            if start == 2000:
                await until(lambda: _some(orders_dsn, claims), 30, interval=0.01)
                await orders_process.kill()
        killed_at = await _count(orders_dsn, claims)
        assert 0 < killed_at < len(burst), "the kill must land mid-burst"
        await orders_process.start()

        async def all_claimed() -> bool:
            return await _count(orders_dsn, claims) == len(burst)

        await until(all_claimed, 120, interval=0.2)
    finally:
        await nc.close()
    assert await _count(orders_dsn, "SELECT count(*) FROM order_status_history") == len(burst)
    done = """SELECT count(*) FROM "order" WHERE status = 'AUTHENTICATED'"""
    assert await _count(orders_dsn, done) == ORDERS
    per_order = """
        SELECT count(*) FROM (SELECT order_number FROM order_status_history
                              GROUP BY order_number HAVING count(*) <> 5) AS odd
    """
    assert await _count(orders_dsn, per_order) == 0


async def _some(dsn: str, sql: str) -> bool:
    return await _count(dsn, sql) > 0
