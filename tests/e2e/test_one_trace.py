# ruff: noqa: F811 - a fixture is imported into this module, then requested by name
"""One trace across the whole system: a webhook sent with a `traceparent` is followed through
ingest, JetStream, orders (its database writes and outbox), `orders.order.upserted` and
`orders.listing.upserted` into pricing, pricing's `pricing.reprice.requested` back into orders,
and orders' call to StockX (the simulator); health probes make no span.

Every service runs in this process (ingest and the simulator served by uvicorn, orders and
pricing as their runtimes), so one in-memory exporter sees every span."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
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
from soleflip.ingest.sender import sign
from soleflip.pricing import repository as pricing_repository
from tests.e2e.support import SECRET, System, list_unit, running_system, sim_listing
from tests.integration.orders.support import order_resource, sim_get
from tests.integration.pricing.conftest import (
    AUTH,
    streams_cleanup,  # noqa: F401 - a fixture
)
from tests.support.spans import spans  # noqa: F401 - a fixture
from tests.support.wait import until

CALLER_TRACE = "5b8efff798038103d269b633813fc60c"
CALLER_SPAN = "eee19b7ec3c1b174"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


@pytest.fixture
async def system(
    spans: InMemorySpanExporter,
    fresh_database: str,
    nats_url: str,
    names: Names,
    streams_cleanup: None,
) -> AsyncIterator[System]:
    async with running_system(fresh_database, nats_url, names, relay=False) as running:
        yield running


async def _prepare(system: System) -> dict[str, Any]:
    """A fixed-price rule recommends 190 for our listing at 200; auto-reprice is switched on
    without re-evaluating, so the next event about the listing makes pricing request it."""
    rule = {"strategy": "fixed", "fixed_price": "190", "auto_reprice": True, "cooldown_s": 0}
    answer = await system.pricing.client.post("/api/v1/rules", json=rule, headers=AUTH)
    assert answer.status_code == 201
    listing_id, _ = await list_unit(system, 200, external_id="trace-1")
    recommended = "SELECT count(*) FROM recommendation WHERE status = 'recommended' AND price = 190"
    await until(lambda: system.pricing.fetchval(recommended), within=15, what="a recommendation")
    async with system.pricing.runtime.pool.acquire() as conn:
        await pricing_repository.set_autoreprice(conn, True, False)
    return await sim_listing(system, listing_id)


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
        assert (await system.pricing.client.get(probe)).status_code == 200

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
