"""The record of a poller's runs (`soleflip.common.polls`): every run of `poll_forever` is
written to the service's `poll_state`, read back by any replica through `GET /api/v1/polls`, and
a new leader carries on from what the previous one recorded."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from soleflip.common.db import create_pool, migrate
from soleflip.common.http import create_app, hash_token
from soleflip.common.polling import poll_forever
from soleflip.common.polls import PollLog, PollRecord, polls_route, read_polls
from soleflip.common.settings import ApiToken, Settings

READ_TOKEN = "polls-read"
READER = ApiToken(name="reader", scopes=frozenset({"read"}), sha256=hash_token(READ_TOKEN))


@pytest.fixture
async def pool(fresh_database: str, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    await migrate(fresh_database, "orders", tmp_path)  # the library's tables only
    made = await create_pool(fresh_database, max_size=3, schema="orders")
    yield made
    await made.close()


async def run_for(coro: object, seconds: float) -> None:
    task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def the_record(pool: asyncpg.Pool) -> PollRecord:
    async with pool.acquire() as conn:
        [got] = await read_polls(conn)
    return got


async def test_each_run_is_recorded_with_its_outcome_and_the_next_start(
    pool: asyncpg.Pool,
) -> None:
    outcomes = iter(["ok", "boom", "paused"])

    async def poll(_: bool) -> str:
        outcome = next(outcomes, "ok")
        if outcome == "boom":
            raise RuntimeError("StockX said no")
        return outcome

    before = datetime.now(UTC)
    record = PollLog("test.kind", lambda: pool)
    await run_for(
        poll_forever(poll, name="test", interval_s=0.2, first_retry_s=0.05, record=record), 0.3
    )
    got = await the_record(pool)
    assert got.kind == "test.kind"
    assert got.last_started_at is not None
    assert got.last_started_at >= before
    assert got.last_finished_at is not None
    assert got.last_finished_at >= got.last_started_at
    assert got.next_at is not None
    assert got.next_at >= got.last_finished_at


async def test_a_failed_run_counts_failures_and_keeps_its_error(pool: asyncpg.Pool) -> None:
    async def poll(_: bool) -> None:
        raise RuntimeError("StockX said no")

    record = PollLog("test.failing", lambda: pool)
    await run_for(
        poll_forever(poll, name="test", interval_s=10, first_retry_s=0.05, record=record), 0.2
    )
    got = await the_record(pool)
    assert got.last_outcome == "failed"
    assert got.failures >= 2
    assert "StockX said no" in (got.last_error or "")
    assert got.next_at is not None
    assert got.next_at - got.last_finished_at <= timedelta(seconds=10)


async def test_a_new_leader_carries_on_from_the_recorded_run(pool: asyncpg.Pool) -> None:
    first = PollLog("test.kind", lambda: pool)
    await first.started()
    await first.finished("paused", next_in_s=30, error="circuit open")
    second = PollLog("test.kind", lambda: pool)  # another replica took over
    await second.started()
    got = await the_record(pool)
    assert got.running
    assert got.last_outcome == "paused"
    assert got.failures == 1
    assert got.last_finished_at is not None


async def test_the_route_lists_declared_kinds_before_their_first_run(
    pool: asyncpg.Pool, fresh_database: str
) -> None:
    record = PollLog("orders", lambda: pool)
    await record.started()
    await record.finished("ok", next_in_s=60)
    opened: list[asyncpg.Pool] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        # The test client serves the app on a loop of its own: the route's pool opens there.
        opened.append(await create_pool(fresh_database, max_size=1, schema="orders"))
        yield
        await opened[0].close()

    app = create_app(
        service="orders",
        settings=Settings(api_tokens=(READER,), log_level="warning"),
        route_handlers=[polls_route(lambda: opened[0], lambda: ["orders", "listings.later"])],
        lifespan=[lifespan],
    )
    async with AsyncTestClient(app) as client:
        assert (await client.get("/api/v1/polls")).status_code == 401
        answer = await client.get(
            "/api/v1/polls", headers={"Authorization": f"Bearer {READ_TOKEN}"}
        )
    assert answer.status_code == 200
    body = answer.json()
    assert [p["kind"] for p in body] == ["listings.later", "orders"]
    assert body[0]["last_started_at"] is None
    assert body[0]["last_outcome"] is None
    assert body[1]["last_outcome"] == "ok"
    assert body[1]["running"] is False
