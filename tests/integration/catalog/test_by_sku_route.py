"""`GET /api/v1/products/by-sku`: a combined style id as printed on the box ("315122-111/
CW2288-111") finds its product, with the slash typed, encoded, or in the `?sku=` form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from soleflip.catalog.app import create_app
from soleflip.catalog.settings import CatalogSettings
from soleflip.common.settings import Settings
from soleflip.common.stockx import StockXClient
from tests.integration.catalog.support import enriched
from tests.support.sim import READ_TOKEN, Sim

READ = {"Authorization": f"Bearer {READ_TOKEN}"}
COMBINED = "315122-111/CW2288-111"


@pytest.fixture
async def api(catalog_settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(catalog_settings, CatalogSettings(refreshing=False, fetch_timeout_s=0.4))
    async with AsyncTestClient(app) as client:
        yield client


@pytest.fixture
async def air_force_id(sim: Sim, pool: asyncpg.Pool, stockx: StockXClient) -> str:
    sim.seed(5, 60)
    return await enriched(pool, stockx, "315122-111")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/products/by-sku/315122-111%2FCW2288-111",
        "/api/v1/products/by-sku/315122-111/CW2288-111",
        "/api/v1/products/by-sku/cw2288-111%20%2F%20315122-111",
        "/api/v1/products/by-sku?sku=315122-111%2FCW2288-111",
        "/api/v1/products/by-sku?sku=315122-111/CW2288-111",
        "/api/v1/products/by-sku/CW2288-111",
        "/api/v1/products/by-sku?sku=315122-111",
    ],
)
async def test_combined_style_id_finds_its_product_in_path_and_query_form(
    api: AsyncTestClient[Any], air_force_id: str, url: str
) -> None:
    found = await api.get(url, headers=READ)
    assert found.status_code == 200, found.text
    assert found.json()["id"] == air_force_id
    assert found.json()["style_id"] == COMBINED


async def test_combined_style_id_with_an_unknown_code_is_404_problem(
    api: AsyncTestClient[Any], air_force_id: str
) -> None:
    for url in (
        "/api/v1/products/by-sku/315122-111%2FCW2288-112",
        "/api/v1/products/by-sku?sku=315122-111/CW2288-112",
    ):
        missing = await api.get(url, headers=READ)
        assert missing.status_code == 404, missing.text
        assert missing.headers["content-type"].startswith("application/problem+json")
    assert (await api.get("/api/v1/products/by-sku", headers=READ)).status_code in {400, 422}
