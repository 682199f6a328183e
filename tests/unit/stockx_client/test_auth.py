"""Token refresh: form, timing, rotation, dead refresh tokens, and single flight across stores
that share one KV (each store stands for a process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

from soleflip.common.stockx import (
    KvTokenStore,
    MemoryKv,
    OAuthCredentials,
    StockXAuthError,
    StockXServerError,
    StockXTransportError,
    TokenRecord,
    TokenTiming,
)
from tests.support.wait import until
from tests.unit.stockx_client.conftest import (
    FERNET,
    SETTINGS,
    FakeStockX,
    json_response,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http(fake: FakeStockX) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
        yield client


def store(
    http: httpx.AsyncClient,
    kv: MemoryKv,
    clock: Clock,
    refresh: str = "refresh-0",
    timing: TokenTiming | None = None,
) -> KvTokenStore:
    creds = OAuthCredentials.from_settings(SETTINGS)
    creds = OAuthCredentials(creds.auth_url, creds.client_id, creds.client_secret, refresh)
    return KvTokenStore(kv, FERNET, http, creds, clock=clock, timing=timing)


async def test_refresh_posts_the_documented_form(fake: FakeStockX, http: httpx.AsyncClient) -> None:
    assert await store(http, MemoryKv(), Clock()).get_token() == "access-1"
    assert fake.token_calls == [
        {
            "grant_type": ["refresh_token"],
            "refresh_token": ["refresh-0"],
            "client_id": ["client-id"],
            "client_secret": ["client-secret"],
            "audience": ["gateway.stockx.com"],
        }
    ]


async def test_token_is_reused_until_80_percent_of_its_lifetime(
    fake: FakeStockX, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    tokens = store(http, MemoryKv(), clock)
    fake.expires_in = 1000
    await tokens.get_token()
    clock.now += 799
    assert await tokens.get_token() == "access-1"
    clock.now += 2
    assert await tokens.get_token() == "access-2"
    assert len(fake.token_calls) == 2


async def test_processes_sharing_the_kv_reuse_one_token(
    fake: FakeStockX, http: httpx.AsyncClient
) -> None:
    kv, clock = MemoryKv(), Clock()
    first, second = store(http, kv, clock), store(http, kv, clock)
    assert await first.get_token() == await second.get_token() == "access-1"
    assert len(fake.token_calls) == 1


async def test_the_kv_holds_only_ciphertext(fake: FakeStockX, http: httpx.AsyncClient) -> None:
    kv = MemoryKv()
    await store(http, kv, Clock()).get_token()
    blob, _ = await kv.get("token") or (b"", 0)
    assert b"access-1" not in blob
    assert b"refresh-0" not in blob
    assert b"access-1" in FERNET.decrypt(blob)


async def test_rotated_refresh_token_is_stored_and_used_next(
    fake: FakeStockX, http: httpx.AsyncClient
) -> None:
    clock, kv = Clock(), MemoryKv()
    fake.rotate = True
    await store(http, kv, clock).get_token()
    clock.now += 50_000
    await store(http, kv, clock, refresh="stale-from-settings").get_token()
    assert [c["refresh_token"] for c in fake.token_calls] == [["refresh-0"], ["refresh-1"]]


async def test_without_rotation_the_old_refresh_token_is_kept(
    fake: FakeStockX, http: httpx.AsyncClient
) -> None:
    clock, kv = Clock(), MemoryKv()
    tokens = store(http, kv, clock)
    for _ in range(3):
        await tokens.get_token()
        clock.now += 50_000
    assert [c["refresh_token"] for c in fake.token_calls] == [["refresh-0"]] * 3


async def test_invalid_grant_is_a_clear_error_and_is_never_retried(
    fake: FakeStockX, http: httpx.AsyncClient
) -> None:
    kv, clock = MemoryKv(), Clock()
    fake.token_answer = json_response(
        403, {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
    )
    with pytest.raises(StockXAuthError, match="re-authorize") as caught:
        await store(http, kv, clock).get_token()
    assert "invalid refresh token" in str(caught.value)
    for _ in range(3):  # this and other processes fail fast, without asking StockX again
        with pytest.raises(StockXAuthError):
            await store(http, kv, clock).get_token()
    assert len(fake.token_calls) == 1


async def test_a_newly_configured_refresh_token_revives_a_dead_record(
    fake: FakeStockX, http: httpx.AsyncClient
) -> None:
    kv, clock = MemoryKv(), Clock()
    fake.token_answer = json_response(400, {"error": "invalid_grant"})
    with pytest.raises(StockXAuthError):
        await store(http, kv, clock).get_token()
    fake.token_answer = None
    assert await store(http, kv, clock, refresh="fresh-consent").get_token() == "access-2"
    assert fake.token_calls[-1]["refresh_token"] == ["fresh-consent"]


async def test_token_endpoint_outage_is_transient_and_releases_the_lease(
    fake: FakeStockX, http: httpx.AsyncClient
) -> None:
    kv, clock = MemoryKv(), Clock()
    fake.token_answer = json_response(503, {"message": "down"})
    with pytest.raises(StockXServerError):
        await store(http, kv, clock).get_token()
    fake.token_answer = None
    assert await store(http, kv, clock).get_token() == "access-2"


async def test_while_another_process_refreshes_a_still_valid_token_is_used(
    fake: FakeStockX, http: httpx.AsyncClient
) -> None:
    kv, clock = MemoryKv(), Clock()
    fake.expires_in = 1000
    await store(http, kv, clock).get_token()
    clock.now += 900  # due for refresh, not expired
    gate = asyncio.Event()

    async def slow_token(request: httpx.Request) -> httpx.Response:
        await gate.wait()
        return json_response(200, {"access_token": "access-new", "expires_in": 1000})

    fake.token_answer = slow_token  # type: ignore[assignment]
    refreshing = asyncio.create_task(store(http, kv, clock).get_token())
    await until(lambda: len(fake.token_calls) == 2, 2)
    assert await store(http, kv, clock).get_token() == "access-1"
    gate.set()
    assert await refreshing == "access-new"
    assert len(fake.token_calls) == 2


async def test_a_lease_left_by_a_dead_process_blocks_until_it_expires(
    fake: FakeStockX, http: httpx.AsyncClient
) -> None:
    kv, clock = MemoryKv(), Clock()
    orphan = TokenRecord(refresh_token="refresh-0", lease_owner="dead", lease_until=clock.now + 10)
    await kv.create("token", FERNET.encrypt(msgspec.json.encode(orphan)))
    timing = TokenTiming(wait_s=0.05, poll_s=0.005)
    with pytest.raises(StockXTransportError, match="timed out"):
        await store(http, kv, clock, timing=timing).get_token()
    assert fake.token_calls == []
    clock.now += 11
    assert await store(http, kv, clock, timing=timing).get_token() == "access-1"
