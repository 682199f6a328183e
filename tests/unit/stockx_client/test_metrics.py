"""Prometheus metrics are labelled by endpoint template, never by ids."""

from __future__ import annotations

from prometheus_client import REGISTRY

from soleflip.common.stockx import StockXClient
from tests.unit.stockx_client.conftest import EXAMPLES, FakeStockX, json_response

TEMPLATE = "/catalog/products/{productId}"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_calls_statuses_latency_and_retries_are_counted_per_template(
    client: StockXClient, fake: FakeStockX
) -> None:
    ok_before = sample(
        "soleflip_stockx_requests_total", method="GET", endpoint=TEMPLATE, status="200"
    )
    busy_before = sample(
        "soleflip_stockx_requests_total", method="GET", endpoint=TEMPLATE, status="503"
    )
    retries_before = sample("soleflip_stockx_retries_total", endpoint=TEMPLATE, reason="5xx")
    waits_before = sample("soleflip_stockx_budget_wait_seconds_count", priority="CATALOG_REFRESH")
    timed_before = sample("soleflip_stockx_request_seconds_count", method="GET", endpoint=TEMPLATE)
    fake.queue = [json_response(503, {})]
    fake.default = json_response(200, EXAMPLES["GetProduct"])
    await client.get_product("p-123")
    await client.get_product("p-456")
    assert (
        sample("soleflip_stockx_requests_total", method="GET", endpoint=TEMPLATE, status="200")
        == ok_before + 2
    )
    assert (
        sample("soleflip_stockx_requests_total", method="GET", endpoint=TEMPLATE, status="503")
        == busy_before + 1
    )
    assert (
        sample("soleflip_stockx_retries_total", endpoint=TEMPLATE, reason="5xx")
        == retries_before + 1
    )
    assert (
        sample("soleflip_stockx_request_seconds_count", method="GET", endpoint=TEMPLATE)
        == timed_before + 3
    )
    assert (
        sample("soleflip_stockx_budget_wait_seconds_count", priority="CATALOG_REFRESH")
        == waits_before + 3
    )
    assert sample("soleflip_stockx_budget_remaining") > 0
