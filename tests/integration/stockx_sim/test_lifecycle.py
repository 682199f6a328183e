"""Time-driven behaviour on the sim clock: operations, batches, orders, markets, determinism."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from soleflip.stockx_sim import SimConfig

Client = TestClient[Any]
HOUR = 3600


@pytest.fixture
def slow_sim(make_sim: Any, sim_config: SimConfig) -> Any:
    sim_config.settle_delay_s = 10.0
    with make_sim(sim_config) as client:
        yield client


def _headers(client: Client, refresh: Any) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {refresh(client).json()['access_token']}",
        "x-api-key": "sim-api-key",
    }


def _variant(client: Client) -> str:
    product = client.get("/_sim/state/products").json()["products"][0]
    return str(product["variants"][3]["variantId"])


def _advance(client: Client, seconds: float) -> None:
    assert client.post("/_sim/advance", json={"seconds": seconds}).status_code == 200


def test_listing_operation_settles_after_the_delay(slow_sim: Client, refresh: Any) -> None:
    headers = _headers(slow_sim, refresh)
    op = slow_sim.post(
        "/v2/selling/listings",
        headers=headers,
        json={"amount": "180", "variantId": _variant(slow_sim)},
    ).json()
    url = f"/v2/selling/listings/{op['listingId']}/operations/{op['operationId']}"
    assert slow_sim.get(url, headers=headers).json()["operationStatus"] == "PENDING"
    _advance(slow_sim, 10)
    assert slow_sim.get(url, headers=headers).json()["operationStatus"] == "SUCCEEDED"
    listing = slow_sim.get(f"/v2/selling/listings/{op['listingId']}", headers=headers).json()
    assert listing["status"] == "ACTIVE"
    assert listing["ask"]["askId"]
    assert listing["lastOperation"]["operationId"] == op["operationId"]


def test_operation_failure_fault_fails_with_an_error(sim: Client, headers: dict[str, str]) -> None:
    sim.put("/_sim/faults", json={"operation_failure_rate": 1.0})
    op = sim.post(
        "/v2/selling/listings", headers=headers, json={"amount": "180", "variantId": _variant(sim)}
    ).json()
    _advance(sim, 1)
    url = f"/v2/selling/listings/{op['listingId']}/operations/{op['operationId']}"
    failed = sim.get(url, headers=headers).json()
    assert failed["operationStatus"] == "FAILED"
    assert failed["error"]


def test_batch_goes_queued_in_progress_completed(slow_sim: Client, refresh: Any) -> None:
    headers = _headers(slow_sim, refresh)
    items = [{"variantId": _variant(slow_sim), "amount": "99", "quantity": 3}]
    batch = slow_sim.post(
        "/v2/selling/batch/create-listing", json={"items": items}, headers=headers
    ).json()
    url = f"/v2/selling/batch/create-listing/{batch['batchId']}"
    assert (batch["status"], batch["totalItems"]) == ("QUEUED", 3)
    assert batch["itemStatuses"] == {"queued": 3}
    _advance(slow_sim, 5)
    assert slow_sim.get(url, headers=headers).json()["status"] == "IN_PROGRESS"
    _advance(slow_sim, 5)
    done = slow_sim.get(url, headers=headers).json()
    assert (done["status"], done["itemStatuses"]) == ("COMPLETED", {"completed": 3})
    assert done["completedAt"] is not None
    listed = slow_sim.get(
        "/v2/selling/listings", headers=headers, params={"batchIds": batch["batchId"]}
    ).json()
    assert listed["count"] == 3


def _sell(client: Client, headers: dict[str, str], fate: str) -> tuple[str, str]:
    op = client.post(
        "/v2/selling/listings",
        headers=headers,
        json={"amount": "102", "currencyCode": "EUR", "variantId": _variant(client)},
    ).json()
    _advance(client, 1)
    order = client.post("/_sim/orders", json={"listing_id": op["listingId"], "fate": fate})
    assert order.status_code == 201, order.text
    return op["listingId"], order.json()["orderNumber"]


def test_order_walks_the_happy_path_into_history(sim: Client, headers: dict[str, str]) -> None:
    listing_id, number = _sell(sim, headers, "happy")
    listing = sim.get(f"/v2/selling/listings/{listing_id}", headers=headers).json()
    assert listing["status"] == "MATCHED"
    assert listing["order"]["orderNumber"] == number
    seen = []
    for _ in range(7):
        _advance(sim, 6 * HOUR)
        seen.append(sim.get(f"/v2/selling/orders/{number}", headers=headers).json()["status"])
    assert seen == [
        "SHIPPED",
        "RECEIVED",
        "AUTHENTICATING",
        "AUTHENTICATED",
        "PAYOUTPENDING",
        "PAYOUTCOMPLETED",
        "COMPLETED",
    ]
    active = sim.get("/v2/selling/orders/active", headers=headers, params={"pageSize": 100})
    assert number not in {o["orderNumber"] for o in active.json()["orders"]}
    history = sim.get(
        "/v2/selling/orders/history",
        headers=headers,
        params={"orderStatus": "COMPLETED", "pageSize": 100},
    ).json()
    assert number in {o["orderNumber"] for o in history["orders"]}
    detail = sim.get(f"/v2/selling/orders/{number}", headers=headers).json()
    assert detail["payout"]["totalPayout"] == "79.76"  # docs/domain.md: 102 - 9.18 - 3.06 - 10
    listing = sim.get(f"/v2/selling/listings/{listing_id}", headers=headers).json()
    assert listing["status"] == "COMPLETED"


def test_failed_authentication_ends_returned(sim: Client, headers: dict[str, str]) -> None:
    listing_id, number = _sell(sim, headers, "authfailed")
    _advance(sim, 5 * 6 * HOUR)
    order = sim.get(f"/v2/selling/orders/{number}", headers=headers).json()
    assert order["status"] == "RETURNED"
    assert order["authenticationDetails"]["status"] == "FAILED"
    listing = sim.get(f"/v2/selling/listings/{listing_id}", headers=headers).json()
    assert listing["status"] == "CANCELED"


def test_market_moves_with_time_and_obeys_overrides(sim: Client, headers: dict[str, str]) -> None:
    product = sim.get("/_sim/state/products").json()["products"][0]
    url = f"/v2/catalog/products/{product['productId']}/market-data"
    before = sim.get(url, headers=headers).json()
    _advance(sim, 3 * 24 * HOUR)
    after = sim.get(url, headers=headers).json()
    assert [m["lowestAskAmount"] for m in before] != [m["lowestAskAmount"] for m in after]
    variant = product["variants"][0]["variantId"]
    sim.put(
        "/_sim/market",
        json={"variant_id": variant, "currency": "GBP", "lowest_ask": 150, "highest_bid": None},
    )
    moved = sim.get(f"{url}?currencyCode=GBP", headers=headers).json()[0]
    assert (moved["lowestAskAmount"], moved["highestBidAmount"]) == ("150", None)


def test_same_seed_same_catalog_other_seed_other_catalog(
    make_sim: Any, sim_config: SimConfig
) -> None:
    def products(seed: int) -> Any:
        sim_config.seed = seed
        with make_sim(sim_config) as client:
            return client.get("/_sim/state/products").json()["products"]

    first, again, other = products(11), products(11), products(12)
    assert first == again
    assert [p["productId"] for p in first] != [p["productId"] for p in other]


def test_reseeding_replaces_the_world(sim: Client) -> None:
    summary = sim.post(
        "/_sim/seed", json={"seed": 3, "products": 15, "listings": 4, "orders": 2}
    ).json()
    assert (summary["products"], summary["orders"]) == (15, 2)
    assert summary["listings"] == 6  # 4 listed + 2 sold


def test_expired_listings_turn_inactive_and_hide_by_default(
    sim: Client, headers: dict[str, str]
) -> None:
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    op = sim.post(
        "/v2/selling/listings",
        headers=headers,
        json={"amount": "150", "variantId": _variant(sim), "expiresAt": expires},
    ).json()
    _advance(sim, 2 * HOUR)
    listing = sim.get(f"/v2/selling/listings/{op['listingId']}", headers=headers).json()
    assert listing["status"] == "INACTIVE"
    default = sim.get("/v2/selling/listings", headers=headers, params={"pageSize": 100}).json()
    assert op["listingId"] not in {x["listingId"] for x in default["listings"]}
    expired = sim.get(
        "/v2/selling/listings", headers=headers, params={"pageSize": 100, "isExpired": "true"}
    ).json()
    assert op["listingId"] in {x["listingId"] for x in expired["listings"]}


def test_completed_ingestion_adds_a_product_findable_by_gtin(
    sim: Client, headers: dict[str, str]
) -> None:
    item = {
        "category": "sneakers",
        "productTitle": "Sim Trainer Two",
        "brand": "ASICS",
        "productImages": [],
        "variants": ["9", "9.5"],
        "retailPrice": "140",
        "releaseDate": "2025-05-01",
        "countryOfOrigin": "VN",
        "colorway": "Cream/Black",
        "gtin": "4550456123456",
        "gender": "men",
        "styleCode": "1201A999-100",
    }
    job = sim.post("/v2/catalog/ingestion", json={"items": [item]}, headers=headers).json()
    _advance(sim, 1)
    done = sim.get(f"/v2/catalog/ingestion/{job['ingestionId']}", headers=headers).json()
    assert done["items"][0]["status"] == "Completed"
    variant = sim.get("/v2/catalog/products/variants/gtins/4550456123456", headers=headers).json()
    assert variant["variantId"] == done["items"][0]["result"]["variantId"]
    found = sim.get("/v2/catalog/search", params={"query": "1201A999-100"}, headers=headers)
    assert found.json()["products"][0]["title"] == "Sim Trainer Two"


def test_flex_listings_filter_by_inbound_shipment(sim: Client, headers: dict[str, str]) -> None:
    listings = sim.get("/_sim/state/listings").json()["listings"]
    flex = next(x for x in listings if x["initiatedShipments"])
    display_id = flex["initiatedShipments"]["inbound"]["displayId"]
    found = set()
    for expired in ("false", "true"):  # the listing is one or the other
        page = sim.get(
            "/v2/selling/listings",
            headers=headers,
            params={
                "initiatedShipmentDisplayIds": f"{display_id},IS-00000000",
                "inventoryTypes": "FLEX",
                "isExpired": expired,
            },
        ).json()
        found |= {x["listingId"] for x in page["listings"]}
    assert found == {flex["listingId"]}


def test_a_sped_up_clock_moves_orders_without_stepping(
    sim: Client, headers: dict[str, str]
) -> None:
    assert sim.put("/_sim/faults", json={"order_step_s": 60.0}).status_code == 200
    _, number = _sell(sim, headers, "happy")
    first = sim.get(f"/v2/selling/orders/{number}", headers=headers).json()["status"]
    assert sim.post("/_sim/advance", json={"speed": 3600}).json()["speed"] == 3600
    time.sleep(0.5)  # half a wall second is 30 sim minutes: all seven 60-s lifecycle steps
    last = sim.get(f"/v2/selling/orders/{number}", headers=headers).json()["status"]
    assert (first, last) == ("CREATED", "COMPLETED")
