# ruff: noqa: F811 - a fixture is imported into this module, then requested by name
"""One trace across the whole system: a webhook sent with a `traceparent` is followed through
ingest, JetStream, orders (its database writes and outbox), `orders.order.upserted` and
`orders.listing.upserted` into pricing, pricing's `pricing.reprice.requested` back into orders,
and orders' call to StockX (the simulator); health probes make no span.

Every service runs in this process (ingest and the simulator served by uvicorn, orders and
pricing as their runtimes), so one in-memory exporter sees every span."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files
from typing import Any

import httpx
import msgspec
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from soleflip.common.bus import Names
from soleflip.common.contracts import uuid7
from soleflip.common.contracts.bounds import Money
from soleflip.common.contracts.ingest import ItemPurchase
from soleflip.common.db import UnitOfWork, migrate
from soleflip.ingest.app import create_app as create_ingest_app
from soleflip.ingest.sender import sign
from soleflip.orders.handlers import CreateListing, create_listing, record_purchases
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from soleflip.pricing import repository as pricing_repository
from soleflip.pricing.app import create_app as create_pricing_app
from tests.integration.orders.support import (
    migrate_orders,
    order_resource,
    run_service,
    running_sim,
    serving,
    sim_config,
    sim_get,
    with_sim,
)
from tests.integration.pricing.conftest import (
    AUTH,
    Clock,
    make_settings,
    pricing_settings,
    streams_cleanup,  # noqa: F401 - a fixture
)
from tests.support.spans import spans  # noqa: F401 - a fixture
from tests.support.wait import until

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
CALLER_TRACE = "5b8efff798038103d269b633813fc60c"
CALLER_SPAN = "eee19b7ec3c1b174"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


@dataclass
class System:
    sim: str
    ingest: str
    orders: OrdersService
    pricing: httpx.AsyncClient
    pricing_app: Any


@pytest.fixture
async def system(
    spans: InMemorySpanExporter,
    fresh_database: str,
    nats_url: str,
    names: Names,
    streams_cleanup: None,
) -> AsyncIterator[System]:
    await migrate_orders(fresh_database)
    await migrate(fresh_database, "pricing", files("soleflip.pricing").joinpath("migrations"))
    settings = make_settings(fresh_database, nats_url, names)
    async with running_sim(sim_config(products=10, listings=0, orders=0)) as sim:
        base = msgspec.structs.replace(with_sim(settings, sim), fernet_keys=(_fernet(),))
        ingest_settings = msgspec.structs.replace(base, webhook_secrets_stockx=(SECRET,))
        app = create_pricing_app(base, pricing_settings(), clock=Clock(), poll=False)
        async with (
            serving(create_ingest_app(ingest_settings)) as ingest,
            run_service(base, OrdersSettings(polling=False, operation_poll_s=0.1)) as orders,
            app.state.runtime.lifespan(),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://pricing"
            ) as client,
        ):
            yield System(sim, ingest, orders, client, app)


def _fernet() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


async def _listed_unit(system: System) -> dict[str, Any]:
    """A unit bought for EUR 80 and listed at 200 through orders; its listing at the simulator."""
    product = (await sim_get(system.sim, "/_sim/state/products"))["products"][2]
    variant = product["variants"][5]
    purchase = ItemPurchase(
        sku=product["styleId"], size=variant["variantValue"], size_type="us m", quantity=1,
        unit_cost=Money(amount=Decimal("80.00"), currency="EUR"),
        purchased_at=datetime(2026, 3, 1, tzinfo=UTC), supplier="e2e", external_id="trace-1",
    )  # fmt: skip
    async with UnitOfWork(system.orders.pool) as uow:
        [unit] = await record_purchases([purchase], conn=uow.conn)
        await uow.commit()
    async with UnitOfWork(system.orders.pool) as uow:
        command = CreateListing(unit, Decimal(200), "EUR", True)
        accepted = await create_listing(command, uow=uow, stockx=system.orders.stockx)
        await uow.commit()
    listings = (await sim_get(system.sim, "/_sim/state/listings"))["listings"]
    found: dict[str, Any] = next(x for x in listings if x["listingId"] == accepted.listing_id)
    return found


async def _pricing_val(system: System, sql: str) -> Any:
    return await system.pricing_app.state.runtime.pool.fetchval(sql)


async def _prepare(system: System) -> dict[str, Any]:
    """A fixed-price rule recommends 190 for our listing at 200; auto-reprice is switched on
    without re-evaluating, so the next event about the listing makes pricing request it."""
    rule = {"strategy": "fixed", "fixed_price": "190", "auto_reprice": True, "cooldown_s": 0}
    assert (await system.pricing.post("/api/v1/rules", json=rule, headers=AUTH)).status_code == 201
    listing = await _listed_unit(system)
    recommended = "SELECT count(*) FROM recommendation WHERE status = 'recommended' AND price = 190"
    await until(lambda: _pricing_val(system, recommended), within=15, what="a recommendation")
    async with system.pricing_app.state.runtime.pool.acquire() as conn:
        await pricing_repository.set_autoreprice(conn, True, False)
    return listing


async def _send_webhook(system: System, events: list[dict[str, Any]]) -> httpx.Response:
    body = msgspec.json.encode(events)
    msg_id, ts = f"msg_{secrets.token_hex(8)}", int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(SECRET, msg_id, ts, body),
        "traceparent": TRACEPARENT,
    }
    # As a relay sends it: httpx's own instrumentation would replace our traceparent.
    with suppress_instrumentation():
        async with httpx.AsyncClient(base_url=system.ingest, timeout=10) as client:
            return await client.post("/webhooks/stockx", content=body, headers=headers)


def _event(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"specversion": "1.0", "id": uuid7(), "source": "relay", "type": type_, "data": data}


def _in(spans: list[ReadableSpan], name: str, subject: str | None = None) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if s.name == name
        and (subject is None or (s.attributes or {}).get("messaging.destination.name") == subject)
    ]


def _trace_of(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


async def test_a_webhook_is_one_trace_through_ingest_orders_pricing_and_the_stockx_call(
    system: System, spans: InMemorySpanExporter
) -> None:
    listing = await _prepare(system)
    spans.clear()
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    changed = listing | {"amount": "205", "updatedAt": now}  # raised by hand at StockX
    sale = order_resource(f"{secrets.randbelow(10**8)}-1", variant_id="var-elsewhere")
    events = [_event("stockx.order.updated", sale), _event("stockx.listing.updated", changed)]
    assert (await _send_webhook(system, events)).status_code == 202

    async def repriced() -> bool:
        listings = (await sim_get(system.sim, "/_sim/state/listings"))["listings"]
        return any(
            x["listingId"] == listing["listingId"] and x["amount"] == "190" for x in listings
        )

    await until(repriced, within=20, what="orders to reprice the listing at the simulator")
    stockx_call = "StockX PATCH /selling/listings/{listingId}"
    await until(lambda: _in(list(spans.get_finished_spans()), stockx_call), what="the StockX span")
    for probe in ("/health/live", "/health/ready"):
        async with httpx.AsyncClient(base_url=system.ingest) as client:
            assert (await client.get(probe)).status_code == 200
        assert (await system.pricing.get(probe)).status_code == 200

    finished = list(spans.get_finished_spans())
    trace = [s for s in finished if _trace_of(s) == CALLER_TRACE]
    by_id = {s.context.span_id: s for s in trace if s.context is not None}
    [webhook] = _in(trace, "POST /webhooks/stockx")
    assert webhook.parent is not None
    assert f"{webhook.parent.span_id:016x}" == CALLER_SPAN
    # ingest → JetStream → orders, both events
    assert len(_in(trace, "orders-ingest process")) == 2
    # orders wrote rows and its outbox in this trace, under its consumer's span
    db = [s for s in trace if (s.attributes or {}).get("db.system") == "postgresql"]
    assert any(_descends(s, "orders-ingest process batch", by_id) for s in db), "no DB span"
    outbox = await system.orders.pool.fetch(
        "SELECT subject, headers->>'traceparent' AS tp FROM outbox"
        " WHERE subject LIKE '%orders.order.upserted' OR subject LIKE '%orders.listing.upserted'"
    )
    assert {row["tp"].split("-")[1] for row in outbox if row["tp"]} >= {CALLER_TRACE}
    # orders.order.upserted and orders.listing.upserted → pricing
    assert _in(trace, "pricing-orders process", "orders.order.upserted")
    assert _in(trace, "pricing-orders process", "orders.listing.upserted")
    # pricing.reprice.requested → orders → StockX
    assert _in(trace, "orders-reprice process", "pricing.reprice.requested")
    [call] = _in(trace, stockx_call)
    assert _descends(call, "orders-reprice process batch", by_id)
    # probes are untraced (the test's own client spans aside)
    served = [s for s in finished if s.kind != SpanKind.CLIENT or s.name.startswith("StockX")]
    assert not [s for s in served if "/health" in s.name + str(_attrs(s).get("http.route"))]


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _descends(span: ReadableSpan, ancestor: str, by_id: dict[int, ReadableSpan]) -> bool:
    """Whether `span` has an ancestor named `ancestor` within the trace."""
    current: ReadableSpan | None = span
    while current is not None and current.parent is not None:
        current = by_id.get(current.parent.span_id)
        if current is not None and current.name == ancestor:
            return True
    return False
