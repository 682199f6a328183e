"""The system the cross-service e2e tests seed: the simulator and ingest served over HTTP by
uvicorn, orders and pricing as their runtimes (one database, two schemas) in this event loop,
and one unit bought and listed through orders."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files
from typing import Any

import httpx
import msgspec
from cryptography.fernet import Fernet

from soleflip.common.bus import Names
from soleflip.common.contracts.bounds import Money
from soleflip.common.contracts.ingest import ItemPurchase
from soleflip.common.db import UnitOfWork, migrate
from soleflip.ingest.app import create_app as create_ingest_app
from soleflip.orders.handlers import CreateListing, create_listing, record_purchases
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from soleflip.pricing.app import create_app as create_pricing_app
from tests.integration.orders.support import (
    migrate_orders,
    run_service,
    running_sim,
    serving,
    sim_config,
    sim_get,
    sim_post,
    with_sim,
)
from tests.integration.pricing.conftest import Clock, Service, make_settings, pricing_settings

#: The webhook secret ingest accepts (and the simulator's relay signs with, when relaying).
SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class System:
    """The running system of one test: URLs of the simulator and ingest, the orders service
    and pricing (its app over ASGI, its runtime and its settable clock)."""

    sim: str
    ingest: str
    orders: OrdersService
    pricing: Service


@asynccontextmanager
async def running_system(
    database: str, nats_url: str, names: Names, *, relay: bool
) -> AsyncIterator[System]:
    """Every service against `database` and NATS under `names`; a simulator of 10 products and
    no listings or orders. `relay`: the simulator signs its webhooks to ingest."""
    await migrate_orders(database)
    await migrate(database, "pricing", files("soleflip.pricing").joinpath("migrations"))
    settings = make_settings(database, nats_url, names)
    async with running_sim(sim_config(products=10, listings=0, orders=0)) as sim:
        fernet = Fernet.generate_key().decode()
        base = msgspec.structs.replace(with_sim(settings, sim), fernet_keys=(fernet,))
        ingest_settings = msgspec.structs.replace(base, webhook_secrets_stockx=(SECRET,))
        clock = Clock()
        app = create_pricing_app(base, pricing_settings(), clock=clock, poll=False)
        async with (
            serving(create_ingest_app(ingest_settings)) as ingest,
            run_service(base, OrdersSettings(polling=False, operation_poll_s=0.1)) as orders,
            app.state.runtime.lifespan(),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://pricing"
            ) as client,
        ):
            if relay:
                target = {"url": f"{ingest}/webhooks/stockx", "secret": SECRET}
                await sim_post(sim, "/_sim/relay", target, method="PUT")
            yield System(sim, ingest, orders, Service(client, app.state.runtime, clock))


async def list_unit(system: System, amount: int, *, external_id: str) -> tuple[str, str]:
    """Buy one unit for EUR 80 (orders resolves its variant at StockX) and list it at `amount`
    EUR through orders; (listing id, variant id)."""
    product = (await sim_get(system.sim, "/_sim/state/products"))["products"][2]
    variant = product["variants"][5]
    purchase = ItemPurchase(
        sku=product["styleId"], size=variant["variantValue"], size_type="us m", quantity=1,
        unit_cost=Money(amount=Decimal("80.00"), currency="EUR"),
        purchased_at=datetime(2026, 3, 1, tzinfo=UTC), supplier="e2e", external_id=external_id,
    )  # fmt: skip
    async with UnitOfWork(system.orders.pool) as uow:
        [unit] = await record_purchases([purchase], conn=uow.conn)
        await uow.commit()
    async with UnitOfWork(system.orders.pool) as uow:
        command = CreateListing(unit, Decimal(amount), "EUR", True)
        accepted = await create_listing(command, uow=uow, stockx=system.orders.stockx)
        await uow.commit()  # handlers never commit: the caller does
    return accepted.listing_id, variant["variantId"]


async def sim_listing(system: System, listing_id: str) -> dict[str, Any]:
    """The listing as the simulator holds it."""
    listings = (await sim_get(system.sim, "/_sim/state/listings"))["listings"]
    found: dict[str, Any] = next(x for x in listings if x["listingId"] == listing_id)
    return found
