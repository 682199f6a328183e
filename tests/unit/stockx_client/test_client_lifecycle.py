"""The client's pooled HTTP connection: created with the client, closed with it, and left alone
when the caller owns it."""

from __future__ import annotations

import httpx

from soleflip.common.stockx import LocalBudget, StaticToken, StockXClient
from tests.unit.stockx_client.conftest import API_URL, SETTINGS


def client(http: httpx.AsyncClient | None = None) -> StockXClient:
    budget = LocalBudget(rate_per_s=10, daily=100)
    return StockXClient(SETTINGS, tokens=StaticToken("t"), budget=budget, http=http)


async def test_the_pooled_http_client_is_kept_alive_and_closed_on_shutdown() -> None:
    async with client() as built:
        pool = built.http
        assert str(pool.base_url) == API_URL + "/"
        assert not pool.is_closed
    assert pool.is_closed


async def test_an_http_client_passed_in_stays_open_for_its_owner() -> None:
    async with httpx.AsyncClient() as http:
        async with client(http):
            pass
        assert not http.is_closed
