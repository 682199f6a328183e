"""Ingest through a 60-second NATS outage (a nats-server of the test's own, never the shared one):
503 with Retry-After meanwhile, and every webhook it answered 202 is on the INGEST stream after."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats
import pytest
from litestar.testing import AsyncTestClient
from nats.js.api import ConsumerConfig, DeliverPolicy

from soleflip.common.bus import Names
from soleflip.common.localinfra import NatsServer
from soleflip.ingest.app import create_app
from tests.integration.ingest import conftest as ingest
from tests.integration.ingest.conftest import Secrets, Sign, body_of, ingest_settings, order_event

# ingest's fixtures, for this module outside its directory
webhook_secrets, signed = ingest.webhook_secrets, ingest.signed

OUTAGE_S = 60.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(OUTAGE_S + 90)]


async def post_for(client: Any, signed: Sign, seconds: float) -> list[tuple[str, int, Any]]:
    """Post a new webhook every 0.1 s for `seconds`; (event id, status, response) of each."""
    answers = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        event = order_event()
        body = body_of(event)
        answer = await client.post("/webhooks/stockx", content=body, headers=signed(body))
        answers.append((event["id"], answer.status_code, answer))
        await asyncio.sleep(0.1)
    return answers


async def stored_ids(url: str, names: Names) -> set[str]:
    nc = await nats.connect(url)
    try:
        sub = await nc.jetstream().pull_subscribe(
            names.subject("ingest.>"),
            stream=names.stream("INGEST"),
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        ids: set[str] = set()
        while True:
            try:
                msgs = await sub.fetch(500, timeout=2)
            except TimeoutError:  # nats' own and the bare one its fetch may raise: nothing left
                return ids
            ids.update((m.headers or {}).get("Nats-Msg-Id", "") for m in msgs)
    finally:
        await nc.close()


async def test_no_webhook_answered_202_is_lost_across_a_60_second_nats_outage(
    nats_server: NatsServer, names: Names, webhook_secrets: Secrets, signed: Sign
) -> None:
    settings = ingest_settings(nats_server.url, names, webhook_secrets)
    async with AsyncTestClient(create_app(settings)) as client:
        before = await post_for(client, signed, 2)
        await asyncio.to_thread(nats_server.stop)
        during = await post_for(client, signed, OUTAGE_S)
        await asyncio.to_thread(nats_server.start)
        after: list[tuple[str, int, Any]] = []
        deadline = time.monotonic() + 30
        while not any(status == 202 for _, status, _ in after[-5:]):
            assert time.monotonic() < deadline, "ingest did not accept again within 30 s"
            after += await post_for(client, signed, 1)

    assert {status for _, status, _ in before} == {202}
    assert {status for _, status, _ in during} <= {202, 503}
    refused = [answer for _, status, answer in during if status == 503]
    assert len(refused) > len(during) / 2  # detected within seconds, refused meanwhile
    assert all(int(a.headers["retry-after"]) >= 1 for a in refused)
    accepted = {eid for eid, status, _ in before + during + after if status == 202}
    assert accepted - await stored_ids(nats_server.url, names) == set()
