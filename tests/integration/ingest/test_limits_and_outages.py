"""Ingest under pressure: the per-source rate limit, and NATS going away and coming back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litestar.testing import AsyncTestClient

from soleflip.common.bus import Names
from soleflip.common.localinfra import NatsServer
from soleflip.ingest.app import create_app
from tests.integration.ingest.conftest import Secrets, Sign, body_of, ingest_settings, order_event


async def test_over_the_rate_a_source_gets_429_with_retry_after_and_others_do_not(
    nats_url: str, names: Names, webhook_secrets: Secrets, signed: Sign
) -> None:
    settings = ingest_settings(nats_url, names, webhook_secrets, webhook_rate_per_s=2.0)
    async with AsyncTestClient(create_app(settings)) as client:
        statuses = []
        for _ in range(4):
            body = body_of(order_event())
            answer = await client.post("/webhooks/stockx", content=body, headers=signed(body))
            statuses.append(answer.status_code)
        assert statuses[:2] == [202, 202]
        assert 429 in statuses[2:]
        limited = answer
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert "requests/s from stockx" in limited.json()["detail"]
        body = body_of(order_event())
        other = signed(body, secret=webhook_secrets.n8n)
        assert (await client.post("/webhooks/n8n", content=body, headers=other)).status_code == 202


async def post_until(client: Any, signed: Sign, status: int, within: float) -> Any:
    deadline = time.monotonic() + within
    while True:
        body = body_of(order_event())
        answer = await client.post("/webhooks/stockx", content=body, headers=signed(body))
        if answer.status_code == status or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.2)


async def test_nats_down_answers_503_with_retry_after_then_recovers_without_restart(
    nats_server: NatsServer, names: Names, webhook_secrets: Secrets, signed: Sign
) -> None:
    settings = ingest_settings(nats_server.url, names, webhook_secrets)
    async with AsyncTestClient(create_app(settings)) as client:
        body = body_of(order_event())
        assert (
            await client.post("/webhooks/stockx", content=body, headers=signed(body))
        ).status_code == 202
        await asyncio.to_thread(nats_server.stop)
        started = time.monotonic()
        down = await post_until(client, signed, 503, within=10)
        assert down.status_code == 503, down.text
        assert time.monotonic() - started < 10
        assert int(down.headers["retry-after"]) >= 1
        assert down.json()["type"] == "urn:soleflip:problem:unavailable"
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        await asyncio.to_thread(nats_server.start)
        back = await post_until(client, signed, 202, within=20)
        assert back.status_code == 202, back.text


async def test_a_missing_stream_is_503_and_not_ready_never_a_lost_202(
    client: Any, js: Any, names: Names, signed: Sign
) -> None:
    """Someone deleted INGEST: publishes find no responders; the sender must retry, not lose."""
    await js.delete_stream(names.stream("INGEST"))
    body = body_of(order_event())
    answer = await client.post("/webhooks/stockx", content=body, headers=signed(body))
    assert answer.status_code == 503, answer.text
    assert "retry-after" in answer.headers
    assert (await client.get("/health/ready")).status_code == 503
