"""Market snapshots from webhooks and the REST API (quote, market, rules, fees), for real."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from soleflip.pricing.pollers import housekeeping
from tests.integration.pricing.conftest import AUTH, READ_AUTH, Service

MARKET_SUBJECT = "ingest.stockx.market.updated"


def market(variant: str, ask: str | None, bid: str | None = "100", **extra: Any) -> dict[str, Any]:
    return {
        "variantId": variant,
        "productId": "prod-1",
        "currencyCode": "EUR",
        "lowestAskAmount": ask,
        "highestBidAmount": bid,
        "sellFasterAmount": None if ask is None else str(int(ask) - 1),
        "earnMoreAmount": None if ask is None else str(int(ask) + 8),
        **extra,
    }


async def _snapshots(service: Service, variant: str) -> int:
    return int(
        await service.fetchval(
            "SELECT count(*) FROM market_snapshot WHERE variant_id = $1", variant
        )
    )


async def test_market_is_stored_and_published_only_on_real_change(service: Service) -> None:
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))
    await service.until(lambda: _snapshots(service, "v1"))
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))  # repeat
    await service.publish(
        MARKET_SUBJECT, "stockx.market.updated", [market("v1", "140"), market("v2", None)]
    )
    await service.until(lambda: _snapshots(service, "v2"))
    assert await _snapshots(service, "v1") == 2
    published = await service.published("pricing.market.updated")
    asks = [(e["data"]["variant_id"], e["data"]["lowest_ask"]) for e in published]
    assert asks == [("v1", "150"), ("v1", "140"), ("v2", None)]
    answer = await service.client.get("/api/v1/market/v1", headers=READ_AUTH)
    assert answer.status_code == 200
    body = answer.json()
    assert body["markets"][0]["lowest_ask"] == {"amount": "140.00", "currency": "EUR"}
    assert [h["lowest_ask"]["amount"] for h in body["history"]] == ["140.00", "150.00"]
    listed = (
        await service.client.get(
            "/api/v1/market", params={"product_id": "prod-1"}, headers=READ_AUTH
        )
    ).json()
    assert sorted(i["variant_id"] for i in listed["items"]) == ["v1", "v2"]
    assert (await service.client.get("/api/v1/market/nope", headers=READ_AUTH)).status_code == 404


async def test_quote_answers_the_contract_shape(service: Service) -> None:
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))
    await service.until(lambda: _snapshots(service, "v1"))
    body = {"variant_id": "v1", "cost": {"amount": "80", "currency": "EUR"}, "min_margin_pct": "10"}
    answer = await service.client.post("/api/v1/quote", json=body, headers=READ_AUTH)
    assert answer.status_code == 200, answer.text
    quote = answer.json()
    # payout(112) = 112 - 10.08 - 3.36 - 10 = 88.56 >= 88 > payout(111) = 87.68
    assert quote["floor"] == {"amount": "112.00", "currency": "EUR"}
    assert quote["payout_at_floor"] == {"amount": "88.56", "currency": "EUR"}
    lines = {line["strategy"]: line for line in quote["recommendations"]}
    assert set(lines) == {"match_lowest_ask", "beat_lowest_ask", "sell_faster", "earn_more"}
    assert lines["match_lowest_ask"]["price"]["amount"] == "150.00"
    assert lines["match_lowest_ask"]["payout"]["amount"] == "122.00"  # 150 - 13.50 - 4.50 - 10
    assert lines["match_lowest_ask"]["profit"]["amount"] == "42.00"
    assert lines["beat_lowest_ask"]["price"]["amount"] == "149.00"
    # GBP has defaults now (refused as "no shipping for GBP" before): payout(100) = 100 - 9 - 3
    # - 8 = 80 >= 80 > payout(99) = 79.12; a currency without shipping is still refused.
    gbp = {"variant_id": "v1", "cost": {"amount": "80", "currency": "GBP"}}
    answer = await service.client.post("/api/v1/quote", json=gbp, headers=READ_AUTH)
    assert answer.json()["floor"] == {"amount": "100.00", "currency": "GBP"}, answer.text
    bad = {"variant_id": "v1", "cost": {"amount": "8000", "currency": "JPY"}}
    assert (
        await service.client.post("/api/v1/quote", json=bad, headers=READ_AUTH)
    ).status_code == 422


async def test_rules_crud_with_validation_and_scopes(service: Service) -> None:
    client = service.client
    rule = {"name": "beat nike", "strategy": "beat_lowest_ask", "beat_pct": "2", "brand": "Nike"}
    assert (await client.post("/api/v1/rules", json=rule)).status_code == 401
    assert (await client.post("/api/v1/rules", json=rule, headers=READ_AUTH)).status_code == 403
    created = await client.post("/api/v1/rules", json=rule, headers=AUTH)
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    assert created.json()["auto_reprice"] is False  # off by default
    bad = await client.post("/api/v1/rules", json={"strategy": "fixed"}, headers=AUTH)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "fixed_price"
    patched = await client.patch(f"/api/v1/rules/{rule_id}", json={"ceiling": "300"}, headers=AUTH)
    assert patched.status_code == 200
    assert Decimal(patched.json()["ceiling"]) == 300
    listed = (await client.get("/api/v1/rules", headers=READ_AUTH)).json()["items"]
    assert [(r["id"], r["brand"], Decimal(r["ceiling"])) for r in listed] == [
        (rule_id, "Nike", 300)
    ]
    assert (await client.delete(f"/api/v1/rules/{rule_id}", headers=AUTH)).status_code == 204
    assert (await client.delete(f"/api/v1/rules/{rule_id}", headers=AUTH)).status_code == 404
    assert (await client.get("/api/v1/rules", headers=READ_AUTH)).json()["items"] == []


async def test_fee_schedule_defaults_and_changes_apply_to_quotes(service: Service) -> None:
    client = service.client
    current = (await client.get("/api/v1/fees", headers=READ_AUTH)).json()["current"]
    assert current["seller_level"] == 1
    assert Decimal(current["minimum_fees"]["EUR"]) == 5
    assert Decimal(current["shipping"]["EUR"]) == 10
    assert Decimal(current["processing_rate"]) == Decimal("0.03")
    put = await client.put("/api/v1/fees", json={"seller_level": 5}, headers=AUTH)
    assert put.status_code == 200, put.text
    body = {"variant_id": "v1", "cost": {"amount": "80", "currency": "EUR"}}
    quote = (await client.post("/api/v1/quote", json=body, headers=READ_AUTH)).json()
    # level 5 (7 %): payout(100) = 100 - 7 - 3 - 10 = 80 >= 80 > payout(99) = 79.10
    assert quote["floor"]["amount"] == "100.00"
    assert quote["recommendations"] == []  # no market known for v1
    [published] = await service.published("pricing.fees.updated")  # orders keeps a copy
    assert published["data"]["schedule"]["seller_level"] == 5
    assert published["data"]["schedule_id"] >= 1
    assert (
        await client.put("/api/v1/fees", json={"seller_level": 9}, headers=AUTH)
    ).status_code == 422


async def test_housekeeping_prunes_old_inbox_claims_and_published_outbox_rows(
    service: Service,
) -> None:
    await service.publish(MARKET_SUBJECT, "stockx.market.updated", market("v1", "150"))
    await service.until(
        lambda: service.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
    )
    async with service.runtime.pool.acquire() as conn:
        await conn.execute("UPDATE inbox SET received_at = now() - interval '15 days'")
        await conn.execute("UPDATE outbox SET published_at = now() - interval '3 days'")
    slept: list[float] = []

    async def once(seconds: float) -> None:
        if slept:
            raise asyncio.CancelledError
        slept.append(seconds)

    with pytest.raises(asyncio.CancelledError):
        await housekeeping(service.runtime, sleep=once)
    assert await service.fetchval("SELECT count(*) FROM inbox") == 0
    assert await service.fetchval("SELECT count(*) FROM outbox") == 0
    assert slept == [3600.0]
