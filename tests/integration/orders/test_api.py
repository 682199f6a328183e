"""REST against real Postgres, NATS and the simulator: filters, pagination, scopes, writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from soleflip.common.bus import Outgoing
from soleflip.common.contracts import new_event
from soleflip.common.contracts.bounds import Money
from soleflip.common.contracts.pricing import REPRICE_REQUESTED, RepriceRequest
from soleflip.common.http import hash_token
from soleflip.common.settings import ApiToken, Settings
from soleflip.orders.app import create_app
from soleflip.orders.settings import OrdersSettings
from tests.integration.orders.support import (
    running_sim,
    serving,
    sim_config,
    sim_get,
    sim_post,
    wait_for_poll,
    with_sim,
)
from tests.support.wait import until

WRITER, READER = "sf_writer_token_for_tests", "sf_reader_token_for_tests"


@dataclass
class Api:
    client: httpx.AsyncClient
    sim_url: str
    service: Any

    def auth(self, token: str = WRITER) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def get(self, path: str, token: str = WRITER) -> Any:
        return await self.client.get(path, headers=self.auth(token))


@pytest.fixture
async def api(orders_settings: Settings) -> AsyncIterator[Api]:
    tokens = (
        ApiToken(name="writer", scopes=frozenset({"write"}), sha256=hash_token(WRITER)),
        ApiToken(name="reader", scopes=frozenset({"read"}), sha256=hash_token(READER)),
    )
    async with running_sim(sim_config(orders=30, listings=40)) as url:
        settings = msgspec.structs.replace(with_sim(orders_settings, url), api_tokens=tokens)
        app = create_app(settings, OrdersSettings(poll_interval_s=3600, operation_poll_s=0.1))
        # Served over real HTTP: the test client's portal would block this loop, where the
        # simulator also runs.
        async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
            service = _service_of(app)
            await wait_for_poll(service)
            yield Api(client, url, service)


def _service_of(app: Any) -> Any:
    provide = app.dependencies["service"]
    return provide.dependency()


async def test_orders_are_paged_with_a_cursor_and_filtered(api: Api) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = (await api.get(f"/api/v1/orders{query}")).json()
        seen += [o["order_number"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    truth = (await sim_get(api.sim_url, "/_sim/state/orders"))["orders"]
    assert sorted(seen) == sorted(o["orderNumber"] for o in truth)
    completed = (await api.get("/api/v1/orders?status=COMPLETED&limit=500")).json()["items"]
    assert {o["status"] for o in completed} <= {"COMPLETED"}
    assert len(completed) == sum(o["status"] == "COMPLETED" for o in truth)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("since=yesterday", "since"),
        ("until=2026-01-01T00:00:00", "until"),
        ("cursor=not-a-cursor", "cursor"),
        ("status=CREATED;DROP", "status"),
        ("unmatched=maybe", "unmatched"),
    ],
)
async def test_bad_filters_are_problem_json(api: Api, query: str, field: str) -> None:
    response = await api.get(f"/api/v1/orders?{query}")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == field


async def test_scopes_are_enforced(api: Api) -> None:
    assert (await api.client.get("/api/v1/orders")).status_code == 401
    assert (await api.get("/api/v1/orders", READER)).status_code == 200
    sync = await api.client.post("/api/v1/sync", json={"what": "orders"}, headers=api.auth(READER))
    assert sync.status_code == 403
    sync = await api.client.post("/api/v1/sync", json={"what": "orders"}, headers=api.auth())
    assert sync.status_code == 202


async def test_order_detail_has_history_fees_and_streams_its_label(api: Api) -> None:
    created = await sim_post(api.sim_url, "/_sim/orders", {})
    number = created["orderNumber"]
    await wait_for_poll(api.service)
    order = (await api.get(f"/api/v1/orders/{number}")).json()
    assert order["status"] == "CREATED"
    assert order["fees"]["source"] == "stockx"
    assert order["history"][0]["status"] == "CREATED"
    assert order["unmatched"] is True
    label = await api.get(f"/api/v1/orders/{number}/shipping-label")
    assert label.status_code == 200
    assert label.headers["content-type"] == "application/pdf"
    assert label.content.startswith(b"%PDF-")
    assert (await api.get("/api/v1/orders/0-nope")).status_code == 404


async def _settled(api: Api, operation_id: str) -> None:
    async def done() -> bool:
        async with api.service.pool.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT settled_at IS NOT NULL FROM listing_operation WHERE operation_id = $1",
                    operation_id,
                )
            )

    await until(done, 20)


async def _stock_unit(api: Api) -> dict[str, Any]:
    products = (await sim_get(api.sim_url, "/_sim/state/products"))["products"]
    product = next(p for p in products if p["styleId"] and "/" not in p["styleId"])
    variant = product["variants"][0]
    purchase = {
        "sku": product["styleId"],
        "size": variant["sizeChart"]["defaultConversion"]["size"],
        "size_type": variant["sizeChart"]["defaultConversion"]["type"],
        "quantity": 1,
        "unit_cost": {"amount": "80.00", "currency": "USD"},
        "purchased_at": "2026-01-01T10:00:00Z",
        "supplier": "test",
        "external_id": f"po-{variant['variantId']}",
    }
    response = await api.client.post("/api/v1/stock", json=purchase, headers=api.auth())
    assert response.status_code == 201, response.text
    again = await api.client.post("/api/v1/stock", json=purchase, headers=api.auth())
    assert again.json() == []  # idempotent on external_id
    unit: dict[str, Any] = response.json()[0]
    unit["expected_variant"] = variant["variantId"]
    return unit


async def test_listing_lifecycle_create_reprice_delete(api: Api) -> None:
    unit = await _stock_unit(api)
    body = {"stock_item_id": unit["id"], "amount": {"amount": "150", "currency": "USD"}}
    created = await api.client.post("/api/v1/listings", json=body, headers=api.auth())
    assert created.status_code == 202, created.text
    listing_id = created.json()["listing_id"]
    await _settled(api, created.json()["operation_id"])
    listing = (await api.get(f"/api/v1/listings/{listing_id}")).json()
    assert listing["status"] == "ACTIVE"
    assert listing["variant_id"] == unit["expected_variant"]  # the real variant, resolved
    assert listing["stock_item_id"] == unit["id"]
    change = {"amount": {"amount": "140", "currency": "USD"}}
    patched = await api.client.patch(
        f"/api/v1/listings/{listing_id}", json=change, headers=api.auth()
    )
    assert patched.status_code == 202, patched.text
    await _settled(api, patched.json()["operation_id"])
    assert (await api.get(f"/api/v1/listings/{listing_id}")).json()["amount"]["amount"] == "140.00"
    deleted = await api.client.delete(f"/api/v1/listings/{listing_id}", headers=api.auth())
    await _settled(api, deleted.json()["operation_id"])
    assert (await api.get(f"/api/v1/listings/{listing_id}")).json()["status"] == "DELETED"
    again = await api.client.delete(f"/api/v1/listings/{listing_id}", headers=api.auth())
    assert again.status_code == 202
    assert again.json()["operation_id"] is None  # already gone: done, not an error loop
    stock = (await api.get("/api/v1/stock")).json()["items"]
    assert next(s for s in stock if s["id"] == unit["id"])["status"] == "IN_STOCK"


async def test_delete_of_a_sold_listing_is_done(api: Api) -> None:
    listings = (await api.get("/api/v1/listings?status=ACTIVE&limit=1")).json()["items"]
    listing_id = listings[0]["listing_id"]
    await sim_post(api.sim_url, "/_sim/orders", {"listing_id": listing_id})
    # Our row still says ACTIVE: StockX refuses the delete, and that counts as done.
    response = await api.client.delete(f"/api/v1/listings/{listing_id}", headers=api.auth())
    assert response.status_code == 202, response.text
    operation_id = response.json()["operation_id"]
    if operation_id is not None:
        await _settled(api, operation_id)
        async with api.service.pool.acquire() as conn:
            status = await conn.fetchval(
                "SELECT status FROM listing_operation WHERE operation_id = $1", operation_id
            )
        assert status == "SUCCEEDED"


async def test_many_reprice_commands_use_a_batch_update(api: Api) -> None:
    listings = (await api.get("/api/v1/listings?status=ACTIVE&limit=8")).json()["items"]
    commands = []
    for listing in listings:
        amount = Decimal(listing["amount"]["amount"]) + 3
        request = RepriceRequest(
            request_id=f"r-{listing['listing_id']}",
            listing_id=listing["listing_id"],
            variant_id=listing["variant_id"],
            amount=Money(amount=amount, currency=listing["amount"]["currency"]),
        )
        event = new_event(REPRICE_REQUESTED, request, source="test")
        commands.append(Outgoing(REPRICE_REQUESTED, msgspec.json.encode(event), event.id))
    await sim_post(api.sim_url, "/_sim/requests/clear", {})
    # Pricing publishes a burst at once; pausing the consumer makes the test see it as one.
    runner = next(c for c in api.service.runtime.consumers if c.durable == "orders-reprice")
    await runner.stop()
    await api.service.runtime.publisher.publish_many(commands)
    await runner.start()

    async def repriced() -> bool:
        async with api.service.pool.acquire() as conn:
            pending = await conn.fetchval(
                "SELECT count(*) FROM listing_operation WHERE settled_at IS NOT NULL"
            )
        return bool(pending == len(listings))

    await until(repriced, 30)
    requests = (await sim_get(api.sim_url, "/_sim/requests"))["requests"]
    writes = [r for r in requests if r["method"] in ("PATCH", "POST", "PUT")]
    assert [w["path"] for w in writes] == ["/v2/selling/batch/update-listing"]
    for listing in listings:
        row = (await api.get(f"/api/v1/listings/{listing['listing_id']}")).json()
        assert Decimal(row["amount"]["amount"]) == Decimal(listing["amount"]["amount"]) + 3


async def test_profit_report_groups_by_period(api: Api) -> None:
    report = await api.get("/api/v1/profit?group_by=month&from=2020-01-01")
    assert report.status_code == 200, report.text
    assert report.json()["group_by"] == "month"
    assert (await api.get("/api/v1/profit?group_by=year")).status_code == 422
