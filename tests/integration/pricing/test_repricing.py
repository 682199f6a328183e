"""The repricing loop against real Postgres and NATS: orders' events in, recommendations and
`pricing.reprice.requested` out; dry-run, cool-down, settling and halting on rejection."""

from __future__ import annotations

import asyncio
from typing import Any

from soleflip.common.db import UnitOfWork
from soleflip.orders.domain import NO_SALE_STATUSES
from soleflip.pricing.handlers import reevaluate
from soleflip.pricing.pollers import Reevaluator
from soleflip.pricing.service import PricingService
from tests.integration.pricing.conftest import AUTH, READ_AUTH, Service, pricing_settings
from tests.integration.pricing.test_market_and_api import MARKET_SUBJECT, market

LISTING = "orders.listing.upserted"
STOCK = "orders.stock.upserted"
ORDER = "orders.order.upserted"


def listing(
    amount: str, *, status: str = "ACTIVE", at: str = "2026-03-01T12:00:00Z"
) -> dict[str, Any]:
    return {
        "listing_id": "L1",
        "status": status,
        "variant_id": "v1",
        "product_id": "prod-1",
        "stock_item_id": 7,
        "amount": {"amount": amount, "currency": "EUR"},
        "updated_at": at,
    }


STOCK_ITEM = {
    "stock_item_id": 7,
    "external_id": "p-1",
    "sku": "DD1391-100",
    "size": "10",
    "size_type": "us m",
    "status": "LISTED",
    "unit_cost": {"amount": "80.00", "currency": "EUR"},
    "variant_id": "v1",
    "listing_id": "L1",
}


async def _setup(service: Service, *, auto: bool, dry_run: bool = False) -> None:
    rule = {"strategy": "beat_lowest_ask", "auto_reprice": True, "cooldown_s": 300}
    assert (await service.client.post("/api/v1/rules", json=rule, headers=AUTH)).status_code == 201
    switch = {"enabled": auto, "dry_run": dry_run}
    assert (
        await service.client.put("/api/v1/autoreprice", json=switch, headers=AUTH)
    ).status_code == 200
    await service.publish(STOCK, STOCK, STOCK_ITEM)
    await service.publish(LISTING, LISTING, listing("200"))
    await service.until(lambda: service.fetchval("SELECT count(*) FROM listing WHERE amount = 200"))
    await service.until(lambda: service.fetchval("SELECT count(*) FROM stock_item"))


async def _recs(service: Service, **params: str) -> list[dict[str, Any]]:
    answer = await service.client.get("/api/v1/recommendations", params=params, headers=READ_AUTH)
    assert answer.status_code == 200
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_market_move_requests_a_reprice_and_the_listing_event_settles_it(
    service: Service,
) -> None:
    await _setup(service, auto=True)
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))
    requests = await service.until(lambda: service.published("pricing.reprice.requested", wait=0.2))
    assert len(requests) == 1
    command = requests[0]["data"]
    assert command["listing_id"] == "L1"
    assert command["amount"] == {"amount": "149", "currency": "EUR"}
    assert command["previous"] == {"amount": "200.00", "currency": "EUR"}
    assert command["floor"]["amount"] == "103.00"  # payout(103) = 103 - 9.27 - 3.09 - 10 = 80.64
    [latest, *_] = await _recs(service, listing_id="L1")
    assert (latest["status"], latest["price"]["amount"]) == ("requested", "149.00")
    assert latest["expected_payout"]["amount"] == "121.12"  # 149 - 13.41 - 4.47 - 10
    assert latest["expected_profit"]["amount"] == "41.12"
    assert latest["inputs"]["lowest_ask"] == {"amount": "150.00", "currency": "EUR"}
    assert latest["inputs"]["cost"] == {"amount": "80.00", "currency": "EUR"}
    created = await service.published("pricing.recommendation.created", wait=0.2)
    assert created[-1]["data"]["inputs"]["lowest_ask"] == "150.00"
    assert await service.fetchval("SELECT pending_amount FROM listing") == 149
    # orders applied it: the listing comes back at 149, the request is settled, nothing new asked
    await service.publish(LISTING, LISTING, listing("149", at="2026-03-01T12:00:05Z"))
    await service.until(
        lambda: service.fetchval("SELECT amount = 149 AND pending_amount IS NULL FROM listing")
    )
    assert len(await service.published("pricing.reprice.requested", wait=0.2)) == 1


async def test_dry_run_only_recommends(service: Service) -> None:
    await _setup(service, auto=True, dry_run=True)
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))
    recs = await service.until(lambda: _recs(service, status="dry_run"))
    assert recs[0]["price"]["amount"] == "149.00"
    assert await service.published("pricing.reprice.requested", wait=0.2) == []
    created = await service.published("pricing.recommendation.created", wait=0.2)
    assert created[-1]["data"]["status"] == "dry_run"


async def test_auto_reprice_off_by_default_gives_recommendations_only(service: Service) -> None:
    await _setup(service, auto=False)
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))
    recs = await service.until(lambda: _recs(service, status="recommended"))
    assert recs[0]["price"]["amount"] == "149.00"
    assert await service.published("pricing.reprice.requested", wait=0.2) == []


async def test_never_below_floor_and_cool_down_holds(service: Service) -> None:
    await _setup(service, auto=True)
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "60"))
    requests = await service.until(lambda: service.published("pricing.reprice.requested", wait=0.2))
    assert requests[0]["data"]["amount"]["amount"] == "103"  # the floor, not 59
    await service.publish(LISTING, LISTING, listing("103", at="2026-03-01T12:00:05Z"))
    await service.until(lambda: service.fetchval("SELECT pending_amount IS NULL FROM listing"))
    # the competitor leaves: beating 180 would be 179, but the cool-down holds the price
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "180"))

    async def cooling() -> list[dict[str, Any]]:
        return [r for r in await _recs(service, status="held") if "cool-down" in r["reason"]]

    assert (await service.until(cooling))[0]["price"]["amount"] == "179.00"
    assert len(await service.published("pricing.reprice.requested", wait=0.2)) == 1


async def test_rejected_reprice_halts_auto_repricing_with_an_alert(service: Service) -> None:
    await _setup(service, auto=True)
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))
    await service.until(lambda: service.published("pricing.reprice.requested", wait=0.2))
    service.clock.advance(120)  # past reject_after: StockX never applied it
    await service.publish(LISTING, LISTING, listing("200", at="2026-03-01T12:02:00Z"))
    reason = await service.until(lambda: service.fetchval("SELECT halted_reason FROM listing"))
    assert "did not apply the reprice to 149" in reason
    service.clock.advance(600)
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "140"))
    held = await service.until(lambda: _recs(service, status="held"))
    assert "halted" in held[0]["reason"]
    assert len(await service.published("pricing.reprice.requested", wait=0.2)) == 1
    # an operator switching auto-reprice on again lifts the halt
    await service.client.put("/api/v1/autoreprice", json={"enabled": True}, headers=AUTH)
    assert len(await service.published("pricing.reprice.requested", wait=0.5)) == 2


async def test_sale_prices_are_learned_from_orders(service: Service) -> None:
    order = {
        "order_number": "O-1",
        "status": "CREATED",
        "variant_id": "v9",
        "amount": {"amount": "175.00", "currency": "EUR"},
        "created_at": "2026-02-28T10:00:00Z",
    }
    await service.publish(ORDER, ORDER, order)
    await service.publish(ORDER, ORDER, {**order, "order_number": "O-2", "status": "CANCELED"})
    await service.until(lambda: service.fetchval("SELECT count(*) FROM sale_price"))
    body = (await service.client.get("/api/v1/market/v9", headers=READ_AUTH)).json()
    assert [(s["order_number"], s["price"]["amount"]) for s in body["sales"]] == [("O-1", "175.00")]


async def test_an_order_that_ends_without_a_sale_leaves_no_sale_price(service: Service) -> None:
    """Every status orders counts as no sale (DONOTSHIP too) takes the order's price out of the
    realised sales: pricing and orders read one definition."""
    order = {
        "status": "CREATED",
        "variant_id": "v9",
        "amount": {"amount": "175.00", "currency": "EUR"},
        "created_at": "2026-02-28T10:00:00Z",
    }
    sent = [await service.publish(ORDER, ORDER, {**order, "order_number": "O-sold"})]
    for status in sorted(NO_SALE_STATUSES):
        fell_through = {**order, "order_number": f"O-{status}"}
        sent.append(await service.publish(ORDER, ORDER, fell_through))
        sent.append(await service.publish(ORDER, ORDER, {**fell_through, "status": status}))
    claimed = "SELECT count(*) = $2 FROM inbox WHERE event_id = ANY($1::text[])"
    await service.until(lambda: service.fetchval(claimed, sent, len(sent)))
    body = (await service.client.get("/api/v1/market/v9", headers=READ_AUTH)).json()
    assert [s["order_number"] for s in body["sales"]] == ["O-sold"]


async def test_unconfirmed_reprice_is_halted_by_the_sweep(service: Service) -> None:
    await _setup(service, auto=True)
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))
    await service.until(lambda: service.published("pricing.reprice.requested", wait=0.2))
    sweeper = Reevaluator(PricingService(service.runtime, pricing_settings(), service.clock))
    await sweeper.sweep()  # within the window: still pending
    assert await service.fetchval("SELECT pending_amount FROM listing") == 149
    service.clock.advance(61)
    await sweeper.sweep()
    reason = await service.fetchval("SELECT halted_reason FROM listing")
    assert reason == "no confirmation of the reprice to 149.00 within 60 s"


async def test_catalog_brand_scopes_the_rule(service: Service) -> None:
    await _setup(service, auto=False)  # a catch-all beat_lowest_ask rule
    nike = {"strategy": "earn_more", "brand": "Nike", "priority": 1}
    assert (await service.client.post("/api/v1/rules", json=nike, headers=AUTH)).status_code == 201
    product = {
        "product_id": "c-1",
        "stockx_product_id": "prod-1",
        "title": "Dunk Low",
        "brand": "Nike",
        "style_id": "DD1391-100",
        "variants": [{"variant_id": "cv-1", "stockx_variant_id": "v1"}],
    }
    await service.publish("catalog.product.upserted", "catalog.product.upserted", product)
    await service.until(lambda: service.fetchval("SELECT count(*) FROM variant"))
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))

    async def earn_more() -> list[dict[str, Any]]:
        return [r for r in await _recs(service) if r["strategy"] == "earn_more"]

    assert (await service.until(earn_more))[0]["price"]["amount"] == "158.00"


async def test_a_stock_item_rule_applies_to_that_item_only(service: Service) -> None:
    await _setup(service, auto=False)  # the catch-all beat_lowest_ask rule
    fixed = {"strategy": "fixed", "fixed_price": "175", "stock_item_id": 7, "priority": 1}
    created = await service.client.post("/api/v1/rules", json=fixed, headers=AUTH)
    assert created.status_code == 201, created.text
    assert created.json()["stock_item_id"] == "7"
    [latest, *_] = await service.until(lambda: _recs(service, listing_id="L1"))
    assert (latest["strategy"], latest["price"]["amount"]) == ("fixed", "175.00")


async def test_concurrent_evaluations_of_one_listing_send_one_command(service: Service) -> None:
    await _setup(service, auto=False)
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))
    await service.until(lambda: _recs(service, status="recommended"))
    pool = service.runtime.pool
    await pool.execute("UPDATE autoreprice SET enabled = true")  # no re-evaluation of its own

    async def evaluate_in_own_transaction() -> None:
        async with UnitOfWork(pool) as uow:
            await reevaluate(conn=uow.conn, now=service.clock(), listings=["L1"])
            await asyncio.sleep(0.2)  # hold the transaction open: the other one must wait
            await uow.commit()

    await asyncio.gather(evaluate_in_own_transaction(), evaluate_in_own_transaction())
    commands = "SELECT count(*) FROM outbox WHERE subject = 'pricing.reprice.requested'"
    assert await service.fetchval(commands) == 1


async def test_a_remapped_product_is_polled_under_its_new_id(service: Service) -> None:
    product = {
        "product_id": "c-1",
        "stockx_product_id": "prod-1",
        "title": "Dunk Low",
        "variants": [{"variant_id": "cv-1", "stockx_variant_id": "v1"}],
    }
    await service.publish("catalog.product.upserted", "catalog.product.upserted", product)
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))
    await service.until(lambda: service.fetchval("SELECT count(*) FROM market_latest"))
    remap = {"product_id": "c-1", "old_stockx_product_id": "prod-1", "new_stockx_product_id": "p2"}
    await service.publish("catalog.product.remapped", "catalog.product.remapped", remap)
    moved = (
        "SELECT bool_and(product_id = 'p2') FROM"
        " (SELECT product_id FROM variant UNION ALL SELECT product_id FROM market_latest) x"
    )
    assert await service.until(lambda: service.fetchval(moved))


async def test_a_unit_whose_cost_is_missing_holds_its_listing_and_landed_cost_sets_the_floor(
    service: Service,
) -> None:
    await _setup(service, auto=True)
    unknown = STOCK_ITEM | {"cost_missing": True, "unit_cost": {"amount": "0", "currency": "EUR"}}
    await service.publish(STOCK, STOCK, unknown)
    await service.until(
        lambda: service.fetchval("SELECT count(*) FROM stock_item WHERE unit_cost IS NULL")
    )
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))
    held = await service.until(lambda: _recs(service, status="held"))
    assert "landed cost unknown" in held[0]["reason"]
    assert await service.published("pricing.reprice.requested", wait=0.5) == []
    # The landed cost (not the bare price) is the floor's input once it is known.
    known = STOCK_ITEM | {"landed_cost": {"amount": "80.00", "currency": "EUR"},
                          "unit_cost": {"amount": "60.00", "currency": "EUR"}}  # fmt: skip
    await service.publish(STOCK, STOCK, known)
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "149"))
    requests = await service.until(lambda: service.published("pricing.reprice.requested", wait=0.2))
    assert requests[0]["data"]["floor"]["amount"] == "103.00"  # covers 80, not 60


async def test_a_listing_without_a_stock_item_id_takes_its_floor_from_the_unit_naming_it(
    service: Service,
) -> None:
    rule = {"strategy": "beat_lowest_ask", "auto_reprice": True}
    assert (await service.client.post("/api/v1/rules", json=rule, headers=AUTH)).status_code == 201
    switch = {"enabled": True, "dry_run": False}
    assert (
        await service.client.put("/api/v1/autoreprice", json=switch, headers=AUTH)
    ).status_code == 200
    await service.publish(STOCK, STOCK, STOCK_ITEM)  # the unit names the listing: L1
    await service.publish(LISTING, LISTING, listing("200") | {"stock_item_id": None})
    await service.until(lambda: service.fetchval("SELECT count(*) FROM stock_item"))
    await service.until(
        lambda: service.fetchval("SELECT count(*) FROM listing WHERE stock_item_id IS NULL")
    )
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "60"))
    requests = await service.until(lambda: service.published("pricing.reprice.requested", wait=0.2))
    assert requests[0]["data"]["floor"]["amount"] == "103.00"  # the unit's cost of 80
    [latest, *_] = await _recs(service, listing_id="L1")
    assert latest["inputs"]["cost"] == {"amount": "80.00", "currency": "EUR"}
