"""Stock units over REST and events: lifecycle moves, corrections, history, filters, pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from soleflip.common.contracts import uuid7
from tests.integration.orders.conftest import Rest
from tests.integration.orders.support import event, order_resource, publish_events
from tests.support.wait import until


def purchase(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": "DD1391-100",
        "size": "10",
        "size_type": "us m",
        "quantity": 1,
        "unit_cost": {"amount": "60.00", "currency": "EUR"},
        "purchased_at": "2026-01-10T10:00:00Z",
        "supplier": "Nike SNKRS",
        "external_id": f"po-{uuid7()}",
    }
    return body | overrides


async def record(rest: Rest, **overrides: Any) -> list[dict[str, Any]]:
    response = await rest.call("POST", "/api/v1/stock", json=purchase(**overrides))
    assert response.status_code == 201, response.text
    units: list[dict[str, Any]] = response.json()
    return units


async def test_a_state_change_not_allowed_answers_409_naming_the_allowed_ones(rest: Rest) -> None:
    [unit] = await record(rest)
    response = await rest.call("PATCH", f"/api/v1/stock/{unit['id']}", json={"status": "shipped"})
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert "allowed: SOLD, KEPT, RETURNED, WRITTEN_OFF" in problem["detail"]
    assert problem["errors"][0]["field"] == "status"
    unchanged = (await rest.call("GET", f"/api/v1/stock/{unit['id']}")).json()
    assert unchanged["status"] == "IN_STOCK"
    assert len(unchanged["history"]) == 1


async def test_a_correction_is_kept_in_history_with_who_made_it(rest: Rest) -> None:
    [unit] = await record(rest)
    change = {
        "unit_cost": {"amount": "55.50", "currency": "EUR"},
        "location": "shelf B2",
        "condition": "damaged",
        "notes": "box crushed",
        "status": "written_off",
    }
    response = await rest.call("PATCH", f"/api/v1/stock/{unit['id']}", json=change)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "WRITTEN_OFF"
    assert body["unit_cost"] == {"amount": "55.50", "currency": "EUR"}
    assert (body["location"], body["condition"], body["notes"]) == (
        "shelf B2",
        "damaged",
        "box crushed",
    )
    created, edited = body["history"]
    assert (created["status"], created["source"], created["actor"], created["reason"]) == (
        "IN_STOCK",
        "api",
        "writer",
        "purchase",
    )
    assert (edited["previous_status"], edited["status"], edited["actor"]) == (
        "IN_STOCK",
        "WRITTEN_OFF",
        "writer",
    )
    assert Decimal(str(edited["changes"]["unit_cost"][0])) == Decimal("60.00")
    assert Decimal(str(edited["changes"]["unit_cost"][1])) == Decimal("55.50")
    assert edited["changes"]["location"] == [None, "shelf B2"]
    back = await rest.call("PATCH", f"/api/v1/stock/{unit['id']}", json={"status": "IN_STOCK"})
    assert back.json()["status"] == "IN_STOCK"


async def test_corrections_refuse_bad_input_with_422(rest: Rest) -> None:
    [unit] = await record(rest)
    path = f"/api/v1/stock/{unit['id']}"
    for body in (
        {"status": "lost"},
        {"unit_cost": {"amount": "-1", "currency": "EUR"}},
        {"unit_cost": {"amount": "10", "currency": "USD"}},
        {"unit_cost": {"amount": "1.001", "currency": "EUR"}},
        {"notes": "a\u0000b"},
        {"condition": "mint"},
        {},
    ):
        response = await rest.call("PATCH", path, json=body)
        assert response.status_code in (400, 422), (body, response.text)
    assert (
        await rest.call("PATCH", "/api/v1/stock/99999999", json={"notes": "x"})
    ).status_code == 404
    assert (await rest.call("GET", f"/api/v1/stock/{2**70}")).status_code in (400, 404)


async def test_a_purchase_not_received_starts_ordered(rest: Rest) -> None:
    [unit] = await record(rest, received=False)
    assert unit["status"] == "ORDERED"
    response = await rest.call("PATCH", f"/api/v1/stock/{unit['id']}", json={"status": "in_stock"})
    assert response.json()["status"] == "IN_STOCK"


async def test_stock_list_filters_and_pages(rest: Rest) -> None:
    now = datetime.now(UTC)
    old, new, newer = (f"{(now - timedelta(days=d)):%Y-%m-%dT%H:%M:%SZ}" for d in (500, 10, 9))
    await record(rest, quantity=3, supplier="Zalando", purchased_at=old)
    await record(rest, quantity=2, sku="CW2288-111", purchased_at=new)
    [kept] = await record(rest, supplier="Zalando", purchased_at=newer)
    await rest.call("PATCH", f"/api/v1/stock/{kept['id']}", json={"status": "KEPT"})

    async def ids(query: str) -> list[int]:
        found, cursor = [], None
        while True:
            page = (
                await rest.call(
                    "GET",
                    f"/api/v1/stock?limit=2&{query}" + (f"&cursor={cursor}" if cursor else ""),
                )
            ).json()
            found += [u["id"] for u in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    assert len(await ids("")) == 6
    assert len(await ids("supplier=zalando")) == 4
    assert len(await ids("sku=cw2288-111")) == 2
    assert await ids("status=KEPT") == [kept["id"]]
    assert len(await ids("status=IN_STOCK&supplier=Zalando")) == 3
    between = f"purchased_since={now - timedelta(days=11):%Y-%m-%d}&purchased_until={newer}"
    assert len(await ids(between)) == 2
    assert len(await ids("min_age_days=100")) == 3  # the purchase 500 days ago
    assert len(await ids("max_age_days=100")) == 3
    assert (await rest.call("GET", "/api/v1/stock?min_age_days=-1")).status_code == 422


async def test_a_sale_moves_its_unit_and_history_names_the_path(rest: Rest) -> None:
    [unit] = await record(rest)
    async with rest.service.pool.acquire() as conn:
        await conn.execute("UPDATE stock_item SET variant_id = 'var-1' WHERE id = $1", unit["id"])
    number = f"1-{uuid7()}"
    publisher = rest.service.runtime.publisher
    await publish_events(publisher, [event("stockx.order.updated", order_resource(number))])

    async def status_is(want: str) -> bool:
        return (await rest.call("GET", f"/api/v1/stock/{unit['id']}")).json()["status"] == want

    await until(lambda: status_is("SOLD"), 15)
    shipped = order_resource(number, "SHIPPED", "2026-01-02T10:00:00.000Z")
    await publish_events(publisher, [event("stockx.order.updated", shipped)])
    await until(lambda: status_is("SHIPPED"), 15)
    failed = order_resource(number, "AUTHFAILED", "2026-01-05T10:00:00.000Z")
    await publish_events(publisher, [event("stockx.order.updated", failed)])
    await until(lambda: status_is("RETURNED"), 15)
    history = (await rest.call("GET", f"/api/v1/stock/{unit['id']}")).json()["history"]
    moves = [(h["status"], h["source"], h["reason"]) for h in history]
    assert moves[1:] == [
        ("IN_STOCK", "system", None),  # the test's own SQL edit of variant_id
        ("SOLD", "webhook", "sale"),
        ("SHIPPED", "webhook", "sale"),
        ("RETURNED", "webhook", "sale fell through"),
    ]
    restock = await rest.call("PATCH", f"/api/v1/stock/{unit['id']}", json={"status": "IN_STOCK"})
    assert restock.json()["order_number"] is None


async def test_lifo_picks_the_newest_unit_and_a_link_is_fixed_by_hand(rest: Rest) -> None:
    [old] = await record(rest, purchased_at="2025-06-01T10:00:00Z")
    [new] = await record(rest, purchased_at="2025-09-01T10:00:00Z")
    for unit in (old, new):
        body = (
            await rest.call("PATCH", f"/api/v1/stock/{unit['id']}", json={"variant_id": "var-1"})
        ).json()
        assert body["variant_status"] == "resolved"
    settings = {"vat_reclaimable": False, "link_strategy": "lifo"}
    assert (await rest.call("PUT", "/api/v1/stock/settings", json=settings)).json() == settings
    number = f"1-{uuid7()}"
    publisher = rest.service.runtime.publisher
    await publish_events(publisher, [event("stockx.order.updated", order_resource(number))])

    async def linked_to() -> int | None:
        order = (await rest.call("GET", f"/api/v1/orders/{number}")).json()
        return order.get("stock_item_id")

    assert await until(linked_to, what="the sale linked") == new["id"]
    path = f"/api/v1/orders/{number}/stock-item"
    fixed = await rest.call("PUT", path, json={"stock_item_id": old["id"]})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["stock_item_id"] == old["id"]
    assert fixed.json()["profit"] == {"amount": "19.76", "currency": "EUR"}  # 79.76 - 60
    freed = (await rest.call("GET", f"/api/v1/stock/{new['id']}")).json()
    taken = (await rest.call("GET", f"/api/v1/stock/{old['id']}")).json()
    assert (freed["status"], freed["order_number"]) == ("IN_STOCK", None)
    assert (taken["status"], taken["order_number"]) == ("SOLD", number)
    last = taken["history"][-1]
    assert (last["actor"], last["reason"]) == ("writer", f"linked by hand to {number}")
    # The hand-made link holds: a later snapshot of the order does not relink it.
    later = order_resource(number, "SHIPPED", "2026-01-02T10:00:00.000Z")
    await publish_events(publisher, [event("stockx.order.updated", later)])
    shipped = await until(
        lambda: _status(rest, old["id"], "SHIPPED"), what="the hand-linked unit shipped"
    )
    assert shipped
    assert (await rest.call("PUT", path, json={"stock_item_id": 99999999})).status_code == 404


async def _status(rest: Rest, stock_item_id: int, want: str) -> bool:
    unit = (await rest.call("GET", f"/api/v1/stock/{stock_item_id}")).json()
    return bool(unit["status"] == want)
