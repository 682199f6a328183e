"""Orders' reprice consumer while StockX (the simulator) is down: the commands wait, none is
dead-lettered or spends a delivery, and they reach StockX once it is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from prometheus_client import REGISTRY

from soleflip.common.bus import list_dead_letters
from soleflip.common.contracts import new_event, uuid7
from soleflip.common.http import build_server
from soleflip.common.localinfra import free_port
from soleflip.common.settings import Settings
from soleflip.orders.settings import OrdersSettings
from soleflip.stockx_sim import create_app as create_sim_app
from tests.integration.orders.support import (
    run_service,
    sim_config,
    sim_get,
    wait_for_poll,
    with_sim,
)
from tests.support.wait import until

REPRICE = "orders-reprice"


@asynccontextmanager
async def up(app: Any, port: int) -> AsyncIterator[None]:
    """The simulator served on `port` until the block ends (its state lives in `app`)."""
    server = build_server(app, host="127.0.0.1", port=port, install_signal_handlers=False)
    task = asyncio.create_task(server.serve())
    await until(lambda: server.started or task.done(), 10)
    try:
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def sim_amount(url: str, listing_id: str) -> Decimal | None:
    listings = (await sim_get(url, "/_sim/state/listings"))["listings"]
    [listing] = [x for x in listings if x["listingId"] == listing_id]
    return Decimal(listing["amount"]) if listing.get("amount") else None


async def test_reprices_wait_out_a_stockx_outage_and_are_applied_after_it(
    orders_settings: Settings,
) -> None:
    sim, port = create_sim_app(Settings(), sim_config()), free_port()
    url = f"http://127.0.0.1:{port}"
    options = OrdersSettings(poll_interval_s=3600, operation_poll_s=0.1)
    async with run_service(with_sim(orders_settings, url), options) as service:
        async with up(sim, port):
            await wait_for_poll(service)
            row = await service.pool.fetchrow(
                "SELECT listing_id, variant_id, amount, currency FROM listing"
                " WHERE status = 'ACTIVE' AND amount IS NOT NULL LIMIT 1"
            )
        assert row is not None
        target = row["amount"] + 7
        command = {
            "request_id": str(uuid7()),
            "listing_id": row["listing_id"],
            "variant_id": row["variant_id"] or "v",
            "amount": {"amount": str(target), "currency": row["currency"]},
            "previous": {"amount": str(row["amount"]), "currency": row["currency"]},
        }
        event = new_event("pricing.reprice.requested", command, source="pricing")
        await service.runtime.publisher.publish_event("pricing.reprice.requested", event)
        durable = service.runtime.names.durable(REPRICE)
        labels = {"consumer": durable}

        def paused() -> bool:
            return REGISTRY.get_sample_value("soleflip_bus_consumer_paused", labels) == 1

        await until(paused, 30)
        await asyncio.sleep(7)  # past the NAK delays 1 + 5 s that spent deliveries before
        js = service.runtime.js
        info = await js.consumer_info(service.runtime.names.stream("PRICING"), durable)
        assert info.num_redelivered == 0
        assert await list_dead_letters(js, service.runtime.names, REPRICE) == []

        async with up(sim, port):

            async def repriced() -> bool:
                return await sim_amount(url, row["listing_id"]) == target

            await until(repriced, 60, interval=0.5)
        assert not paused()
        assert await list_dead_letters(js, service.runtime.names, REPRICE) == []
