"""Every simulator response validates against StockX's own OpenAPI document (all 32 operations)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

UNKNOWN = "00000000-0000-4000-8000-000000000000"
Client = TestClient[Any]


def _catalog(sim: Client, headers: dict[str, str], contract: Any) -> dict[str, Any]:
    body = contract.check(
        "Search", sim.get("/v2/catalog/search", params={"query": "nike"}, headers=headers)
    )
    product_id = body["products"][0]["productId"]
    base = f"/v2/catalog/products/{product_id}"
    contract.check("GetProduct", sim.get(base, headers=headers))
    variants = contract.check("GetVariants", sim.get(f"{base}/variants", headers=headers))
    variant_id = variants[0]["variantId"]
    contract.check("GetVariant", sim.get(f"{base}/variants/{variant_id}", headers=headers))
    contract.check(
        "GetVariantMarketData",
        sim.get(
            f"{base}/variants/{variant_id}/market-data",
            params={"currencyCode": "EUR"},
            headers=headers,
        ),
    )
    contract.check("GetProductMarketData", sim.get(f"{base}/market-data", headers=headers))
    state = sim.get("/_sim/state/products").json()["products"]
    gtin = next(g["identifier"] for p in state for v in p["variants"] for g in v["gtins"])
    contract.check(
        "GetVariantsByGtin", sim.get(f"/v2/catalog/products/variants/gtins/{gtin}", headers=headers)
    )
    other = state[1]["variants"][0]["variantId"]
    return {"product": product_id, "variant": variant_id, "other_variant": other, "state": state}


def test_catalog_operations_match_the_contract(
    sim: Client, headers: dict[str, str], contract: Any
) -> None:
    ids = _catalog(sim, headers, contract)
    base = f"/v2/catalog/products/{ids['product']}"
    contract.check("GetProduct", sim.get(f"/v2/catalog/products/{UNKNOWN}", headers=headers))
    contract.check(
        "GetVariants", sim.get(f"/v2/catalog/products/{UNKNOWN}/variants", headers=headers)
    )
    contract.check(
        "GetVariant", sim.get(f"{base}/variants/{ids['other_variant']}", headers=headers)
    )
    contract.check("GetVariant", sim.get(f"{base}/variants/{UNKNOWN}", headers=headers))
    contract.check(
        "GetVariantMarketData",
        sim.get(f"{base}/variants/{ids['other_variant']}/market-data", headers=headers),
    )
    contract.check(
        "GetVariantsByGtin", sim.get("/v2/catalog/products/variants/gtins/12ab", headers=headers)
    )
    contract.check(
        "GetVariantsByGtin",
        sim.get("/v2/catalog/products/variants/gtins/000000000000", headers=headers),
    )


INGESTION_ITEM = {
    "category": "sneakers",
    "productTitle": "Sim Runner One",
    "brand": "Nike",
    "productImages": ["https://example.com/a.jpg"],
    "variants": ["9", "10"],
    "retailPrice": "120",
    "releaseDate": "2025-01-01",
    "countryOfOrigin": "VN",
    "colorway": "White/Black",
    "gtin": "196153512345",
    "gender": "men",
    "styleCode": "SIM001-100",
}


def test_ingestion_operations_match_the_contract(
    sim: Client, headers: dict[str, str], contract: Any
) -> None:
    created = contract.check(
        "Ingestion",
        sim.post("/v2/catalog/ingestion", json={"items": [INGESTION_ITEM]}, headers=headers),
    )
    path = f"/v2/catalog/ingestion/{created['ingestionId']}"
    body = contract.check("IngestionItems", sim.get(path, headers=headers))
    assert body["items"][0]["status"] in ("In Review", "Completed")
    bad = dict(INGESTION_ITEM)
    del bad["gtin"]
    contract.check(
        "Ingestion", sim.post("/v2/catalog/ingestion", json={"items": [bad]}, headers=headers)
    )
    contract.check("IngestionItems", sim.get("/v2/catalog/ingestion/not-a-uuid", headers=headers))


def _operation_pages(sim: Client, headers: dict[str, str], contract: Any, path: str) -> None:
    ops = contract.check(
        "GetListingOperations",
        sim.get(f"{path}/operations", params={"pageSize": 2}, headers=headers),
    )
    assert ops["nextCursor"] is not None
    more = contract.check(
        "GetListingOperations",
        sim.get(
            f"{path}/operations",
            params={"pageSize": 2, "cursor": ops["nextCursor"]},
            headers=headers,
        ),
    )
    assert more["nextCursor"] is None


def _listing_writes(sim: Client, headers: dict[str, str], contract: Any, variant: str) -> str:
    created = contract.check(
        "Create",
        sim.post(
            "/v2/selling/listings",
            json={"amount": "150", "variantId": variant, "currencyCode": "EUR"},
            headers=headers,
        ),
    )
    listing = created["listingId"]
    path = f"/v2/selling/listings/{listing}"
    assert created["operationStatus"] == "PENDING"
    assert created["operationUrl"].endswith(f"{path}/operations/{created['operationId']}")
    contract.check("FindById", sim.get(path, headers=headers))
    contract.check("Update", sim.patch(path, json={"amount": "160"}, headers=headers))
    contract.check("DeactivateListing", sim.put(f"{path}/deactivate", headers=headers))
    sim.post("/_sim/advance", json={"seconds": 1})
    contract.check(
        "ActivateListing", sim.put(f"{path}/activate", json={"amount": "155"}, headers=headers)
    )
    op = contract.check(
        "FindOperationById", sim.get(f"{path}/operations/{created['operationId']}", headers=headers)
    )
    assert op["operationStatus"] == "SUCCEEDED"
    _operation_pages(sim, headers, contract, path)
    contract.check(
        "GetAllListings",
        sim.get(
            "/v2/selling/listings", headers=headers, params={"listingStatuses": "ACTIVE,INACTIVE"}
        ),
    )
    return str(listing)


def test_listing_operations_match_the_contract(
    sim: Client, headers: dict[str, str], contract: Any
) -> None:
    ids = _catalog(sim, headers, contract)
    listing = _listing_writes(sim, headers, contract, ids["variant"])
    path = f"/v2/selling/listings/{listing}"
    contract.check("DeleteListing", sim.delete(path, headers=headers))
    sim.post("/_sim/advance", json={"seconds": 1})
    contract.check("DeleteListing", sim.delete(path, headers=headers))
    contract.check("FindById", sim.get(f"/v2/selling/listings/{UNKNOWN}", headers=headers))
    contract.check(
        "Create",
        sim.post(
            "/v2/selling/listings",
            json={"amount": "79.99", "variantId": ids["variant"]},
            headers=headers,
        ),
    )
    contract.check("Update", sim.patch(path, json={"amount": "1"}, headers=headers))
    contract.check(
        "ActivateListing",
        sim.put(f"/v2/selling/listings/{UNKNOWN}/activate", json={}, headers=headers),
    )
    contract.check(
        "DeactivateListing", sim.put(f"/v2/selling/listings/{UNKNOWN}/deactivate", headers=headers)
    )
    contract.check("FindOperationById", sim.get(f"{path}/operations/{UNKNOWN}", headers=headers))
    contract.check(
        "GetListingOperations",
        sim.get(f"{path}/operations", params={"cursor": "%%%"}, headers=headers),
    )
    contract.check(
        "GetAllListings",
        sim.get("/v2/selling/listings", params={"listingStatuses": "DELETED"}, headers=headers),
    )


def _batch(
    sim: Client,
    headers: dict[str, str],
    contract: Any,
    kind: str,
    items: list[Any],
    ids: tuple[str, str, str],
) -> dict[str, Any]:
    post_id, get_id, items_id = ids
    batch = contract.check(
        post_id, sim.post(f"/v2/selling/batch/{kind}", json={"items": items}, headers=headers)
    )
    assert batch["status"] == "QUEUED"
    sim.post("/_sim/advance", json={"seconds": 1})
    done = contract.check(
        get_id, sim.get(f"/v2/selling/batch/{kind}/{batch['batchId']}", headers=headers)
    )
    assert done["status"] == "COMPLETED"
    result: dict[str, Any] = contract.check(
        items_id, sim.get(f"/v2/selling/batch/{kind}/{batch['batchId']}/items", headers=headers)
    )
    return result


def test_batch_operations_match_the_contract(
    sim: Client, headers: dict[str, str], contract: Any
) -> None:
    variant = _catalog(sim, headers, contract)["variant"]
    created = _batch(
        sim,
        headers,
        contract,
        "create-listing",
        [
            {"variantId": variant, "amount": "120", "quantity": 2},
            {"variantId": UNKNOWN, "amount": "120", "quantity": 1},
        ],
        ("CreateListings", "GetListingCreateBatch", "GetListingCreateBatchItems"),
    )
    statuses = sorted(i["status"] for i in created["items"])
    assert statuses == ["COMPLETED", "COMPLETED", "FAILED"]
    listing = next(i["result"]["listingId"] for i in created["items"] if "result" in i)
    _batch(
        sim,
        headers,
        contract,
        "update-listing",
        [{"listingId": listing, "amount": "130", "active": False}],
        ("UpdateListings", "GetListingUpdateBatch", "GetListingUpdateBatchItems"),
    )
    deleted = _batch(
        sim,
        headers,
        contract,
        "delete-listing",
        [{"listingId": listing}],
        ("DeleteListings", "GetListingDeleteBatch", "GetListingDeleteBatchItems"),
    )
    assert deleted["items"][0]["listingInput"] == {"id": listing}


def test_batch_posts_without_items_are_documented_400s(
    sim: Client, headers: dict[str, str], contract: Any
) -> None:
    for kind, op_id in (
        ("create-listing", "CreateListings"),
        ("update-listing", "UpdateListings"),
        ("delete-listing", "DeleteListings"),
    ):
        contract.check(
            op_id, sim.post(f"/v2/selling/batch/{kind}", json={"items": []}, headers=headers)
        )


def _direct_order(sim: Client, headers: dict[str, str], state: list[dict[str, Any]]) -> str:
    variant = next(v["variantId"] for p in state if p["isDirectEligible"] for v in p["variants"])
    created = sim.post(
        "/v2/selling/listings",
        headers=headers,
        json={"amount": "200", "variantId": variant, "inventoryType": "DIRECT"},
    ).json()
    sim.post("/_sim/advance", json={"seconds": 1})
    order = sim.post("/_sim/orders", json={"listing_id": created["listingId"]})
    assert order.status_code == 201, order.text
    return str(order.json()["orderNumber"])


def test_order_operations_match_the_contract(
    sim: Client, headers: dict[str, str], contract: Any
) -> None:
    state = _catalog(sim, headers, contract)["state"]
    active = contract.check(
        "GetOrders",
        sim.get("/v2/selling/orders/active", headers=headers, params={"sortOrder": "SHIPBYDATE"}),
    )
    contract.check(
        "GetHistoricalOrders",
        sim.get("/v2/selling/orders/history", headers=headers, params={"fromDate": "2020-01-01"}),
    )
    number = active["orders"][0]["orderNumber"]
    detail = contract.check("GetOrder", sim.get(f"/v2/selling/orders/{number}", headers=headers))
    label = detail["shipment"]["shippingDocumentUrl"].split("/v2")[1]
    contract.check("GetOrderShipment", sim.get(f"/v2{label}", headers=headers))
    direct = _direct_order(sim, headers, state)
    contract.check(
        "GetOrderShipmentDocuments",
        sim.get(f"/v2/selling/orders/{direct}/shipping-document", headers=headers),
    )
    standard = next(o["orderNumber"] for o in active["orders"] if o["inventoryType"] != "DIRECT")
    contract.check(
        "GetOrderShipmentDocuments",
        sim.get(f"/v2/selling/orders/{standard}/shipping-document", headers=headers),
    )
    contract.check(
        "GetOrders",
        sim.get("/v2/selling/orders/active", headers=headers, params={"orderStatus": "COMPLETED"}),
    )
    contract.check(
        "GetHistoricalOrders",
        sim.get("/v2/selling/orders/history", headers=headers, params={"fromDate": "01/02/2024"}),
    )


def _concrete(path: str) -> str:
    for name in (
        "productId",
        "variantId",
        "listingId",
        "operationId",
        "batchId",
        "ingestionId",
        "gtin",
        "orderNumber",
        "shippingId",
    ):
        path = path.replace("{" + name + "}", "x")
    return "/v2" + path


def test_every_operation_rejects_a_bad_token_with_the_documented_401(
    sim: Client, contract: Any
) -> None:
    bad = {"Authorization": "Bearer not-a-jwt", "x-api-key": "sim-api-key"}
    assert len(contract.operations) == 32
    for operation_id, op in contract.operations.items():
        response = sim.request(
            op["method"].upper(), _concrete(op["path"]), headers=bad, params={"query": "x"}
        )
        assert response.status_code == 401, operation_id
        contract.check(operation_id, response)


def test_the_walk_covers_all_32_operations(
    sim: Client, headers: dict[str, str], contract: Any
) -> None:
    test_catalog_operations_match_the_contract(sim, headers, contract)
    test_ingestion_operations_match_the_contract(sim, headers, contract)
    test_listing_operations_match_the_contract(sim, headers, contract)
    test_batch_operations_match_the_contract(sim, headers, contract)
    test_batch_posts_without_items_are_documented_400s(sim, headers, contract)
    test_order_operations_match_the_contract(sim, headers, contract)
    happy = {op for op, status in contract.checked if status < 300}
    assert happy == set(contract.operations)


@pytest.mark.parametrize(
    ("operation_id", "maximum"),
    [
        ("Search", 50),
        ("GetAllListings", 100),
        ("GetListingOperations", 100),
        ("GetOrders", 100),
        ("GetHistoricalOrders", 100),
    ],
)
def test_page_sizes_follow_the_documented_limits(
    sim: Client, headers: dict[str, str], contract: Any, operation_id: str, maximum: int
) -> None:
    path = contract.operations[operation_id]["path"]
    if "{listingId}" in path:
        listing = sim.get("/_sim/state/listings").json()["listings"][0]["listingId"]
        path = path.replace("{listingId}", listing)
    params = {"query": "nike"} if operation_id == "Search" else {}
    sizes = {
        size: sim.get(f"/v2{path}", params={**params, "pageSize": size}, headers=headers)
        for size in (1, maximum, maximum + 1, 0)
    }
    assert [r.status_code for r in sizes.values()] == [200, 200, 400, 400]
    assert sizes[maximum + 1].json()["statusCode"] == 400
