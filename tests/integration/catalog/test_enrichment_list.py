"""`GET /api/v1/enrichment`: every enrichment job, newest first, in cursor pages with its
counts; a bad `limit` or `status` is a problem+json 400, a foreign cursor a 422 (as for
products)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from soleflip.catalog.app import create_app
from soleflip.catalog.settings import CatalogSettings
from soleflip.common.settings import Settings
from tests.support.sim import READ_TOKEN, WRITE_TOKEN

READ = {"Authorization": f"Bearer {READ_TOKEN}"}
WRITE = {"Authorization": f"Bearer {WRITE_TOKEN}"}


@pytest.fixture
async def api(catalog_settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(catalog_settings, CatalogSettings(refreshing=False, fetch_timeout_s=0.4))
    async with AsyncTestClient(app) as client:
        yield client


async def test_jobs_are_listed_newest_first_in_cursor_pages(api: AsyncTestClient[Any]) -> None:
    made = []
    for skus in (["NOPE-1"], ["NOPE-2", "NOPE-3"], ["NOPE-4"]):
        answer = await api.post("/api/v1/products/enrich", json={"skus": skus}, headers=WRITE)
        assert answer.status_code == 202, answer.text
        made.append(answer.json()["job_id"])
    first = (await api.get("/api/v1/enrichment?limit=2", headers=READ)).json()
    assert [j["id"] for j in first["items"]] == made[:0:-1]
    assert first["items"][1]["total"] == 2
    assert {"finished", "resolved", "unresolved", "failed", "created_at"} <= set(first["items"][0])
    rest = await api.get(f"/api/v1/enrichment?limit=2&cursor={first['next_cursor']}", headers=READ)
    assert [j["id"] for j in rest.json()["items"]] == made[:1]
    assert rest.json()["next_cursor"] is None


async def test_jobs_can_be_filtered_by_status(api: AsyncTestClient[Any]) -> None:
    await api.post("/api/v1/products/enrich", json={"skus": ["NOPE-9"]}, headers=WRITE)
    for status in ("pending", "running", "done"):
        page = (await api.get(f"/api/v1/enrichment?status={status}", headers=READ)).json()
        assert {j["status"] for j in page["items"]} <= {status}


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("limit=0", 400),
        ("limit=201", 400),
        ("limit=abc", 400),
        ("status=stuck", 400),
        # a cursor the API never issued is refused like the products list refuses one
        ("cursor=not-a-cursor", 422),
        ("cursor=WzFd", 422),
    ],
)
async def test_bad_list_parameters_are_problem_json(
    api: AsyncTestClient[Any], query: str, status: int
) -> None:
    answer = await api.get(f"/api/v1/enrichment?{query}", headers=READ)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_listing_jobs_needs_a_token(api: AsyncTestClient[Any]) -> None:
    assert (await api.get("/api/v1/enrichment")).status_code == 401
