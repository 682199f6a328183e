"""The catalog's REST API end to end: real app, Postgres, NATS and the StockX simulator."""

from __future__ import annotations

import asyncio
import importlib.resources
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from soleflip.catalog.app import SERVICE, create_app
from soleflip.catalog.settings import CatalogSettings
from soleflip.common.bus import Names
from soleflip.common.db import migrate
from tests.support.sim import READ_TOKEN, WRITE_TOKEN, Sim, settings_for, simulator_process

READ = {"Authorization": f"Bearer {READ_TOKEN}"}
WRITE = {"Authorization": f"Bearer {WRITE_TOKEN}"}
SKUS = ["DD1391-100", "DD1391-103", "315122-111", "DD1391-101", "CP9654", "dd1391 100"]


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    with simulator_process() as url:
        yield url


@pytest.fixture
async def api(
    fresh_database: str, nats_url: str, names: Names, sim_url: str
) -> AsyncIterator[AsyncTestClient[Any]]:
    await migrate(
        fresh_database, SERVICE, importlib.resources.files("soleflip.catalog") / "migrations"
    )
    Sim(sim_url).seed(21, 25)
    settings = settings_for(fresh_database, nats_url, names, sim_url)
    app = create_app(settings, CatalogSettings(refreshing=False, fetch_timeout_s=0.4))
    async with AsyncTestClient(app) as client:
        yield client


async def _enriched(api: AsyncTestClient[Any], skus: list[str]) -> dict[str, Any]:
    created = await api.post("/api/v1/products/enrich", json={"skus": skus}, headers=WRITE)
    assert created.status_code == 202, created.text
    return await _done(api, created.headers["location"])


async def _done(api: AsyncTestClient[Any], location: str) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            job: dict[str, Any] = (await api.get(location, headers=READ)).json()
            if job["status"] == "done":
                return job
            await asyncio.sleep(0.1)


async def test_enrichment_job_reports_each_sku_and_never_guesses(
    api: AsyncTestClient[Any],
) -> None:
    job = await _enriched(api, SKUS)
    assert job["total"] == 5  # "dd1391 100" is "DD1391-100" again
    outcomes = {i["sku"]: i["status"] for i in job["items"]}
    assert outcomes == {
        "DD1391-100": "resolved",
        "DD1391-103": "resolved",
        "315122-111": "resolved",
        "DD1391-101": "unresolved",
        "CP9654": "resolved",
    }
    miss = next(i for i in job["items"] if i["sku"] == "DD1391-101")
    assert {c["style_id"] for c in miss["candidates"]} >= {"DD1391-100", "DD1391-103"}


async def test_search_lookup_and_size_endpoints(api: AsyncTestClient[Any]) -> None:
    await _enriched(api, SKUS)
    first = (await api.get("/api/v1/products?q=dunk low&limit=1", headers=READ)).json()
    second = await api.get(
        f"/api/v1/products?q=dunk&limit=1&cursor={first['next_cursor']}", headers=READ
    )
    assert first["items"][0]["id"] != second.json()["items"][0]["id"]
    by_style = (await api.get("/api/v1/products?style_id=cw2288 111", headers=READ)).json()
    assert [p["style_id"] for p in by_style["items"]] == ["315122-111/CW2288-111"]
    nike = (await api.get("/api/v1/products?brand=NIKE", headers=READ)).json()["items"]
    assert len(nike) == 3

    panda = (await api.get("/api/v1/products/by-sku/dd1391-100", headers=READ)).json()
    assert panda["style_id"] == "DD1391-100"
    assert len(panda["variants"]) > 10
    assert panda == (await api.get(f"/api/v1/products/{panda['id']}", headers=READ)).json()
    by_size = f"/api/v1/products/{panda['id']}/variants/by-size"
    ambiguous = await api.get(f"{by_size}?size_type=UK&size_value=6", headers=READ)
    assert ambiguous.status_code == 409
    assert ambiguous.headers["content-type"].startswith("application/problem+json")
    assert len(ambiguous.json()["errors"]) == 2
    eu39 = (await api.get(f"{by_size}?size_type=eu&size_value=39", headers=READ)).json()
    sizes = await api.get(f"/api/v1/variants/{eu39['id']}/sizes?size_type=us-m", headers=READ)
    assert [(s["type"], s["value"]) for s in sizes.json()["sizes"]] == [("us m", "6.5")]

    gtin_variant = next(v for v in panda["variants"] if v["gtins"])
    by_gtin = await api.get(f"/api/v1/variants/by-gtin/{gtin_variant['gtins'][0]}", headers=READ)
    assert by_gtin.json()["id"] == gtin_variant["id"]


async def test_auth_and_problem_answers(api: AsyncTestClient[Any]) -> None:
    assert (await api.get("/api/v1/products")).status_code == 401
    denied = await api.post("/api/v1/products/enrich", json={"skus": ["X"]}, headers=READ)
    assert denied.status_code == 403
    missing = await api.get("/api/v1/products/by-sku/ZZ0000-000", headers=READ)
    assert missing.status_code == 404
    assert missing.json()["status"] == 404
    bad = await api.get("/api/v1/products?cursor=%%%", headers=READ)
    assert bad.status_code == 422
    assert (await api.get("/api/v1/enrichment/not-a-job", headers=READ)).status_code == 404
    empty = await api.post("/api/v1/products/enrich", json={"skus": []}, headers=WRITE)
    assert empty.status_code == 422


async def test_failed_items_of_a_job_are_retried_by_the_api(
    api: AsyncTestClient[Any], fresh_database: str
) -> None:
    job = await _enriched(api, ["DD1391-100", "CP9654"])
    # As a job ended before 429s were retried: one item failed for a rate limit.
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute(
            "UPDATE catalog.enrichment_item SET status = 'failed', product_id = NULL,"
            " detail = 'StockXRateLimited: StockX 429' WHERE job_id = $1 AND sku = 'CP9654'",
            uuid.UUID(job["id"]),
        )
    finally:
        await conn.close()
    retried = await api.post(f"/api/v1/enrichment/{job['id']}/retry", headers=WRITE)
    assert retried.status_code == 202, retried.text
    assert retried.json() == {"job_id": job["id"], "retried": 1}
    again = await _done(api, retried.headers["location"])
    assert {i["sku"]: i["status"] for i in again["items"]} == {
        "DD1391-100": "resolved",
        "CP9654": "resolved",
    }
    unknown = await api.post(f"/api/v1/enrichment/{uuid.uuid4()}/retry", headers=WRITE)
    assert unknown.status_code == 404
    forbidden = await api.post(f"/api/v1/enrichment/{job['id']}/retry", headers=READ)
    assert forbidden.status_code == 403
