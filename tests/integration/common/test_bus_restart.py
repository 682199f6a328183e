"""Surviving NATS itself: a server that starts late, and a restart while consuming."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from soleflip.common.bus import (
    ConsumerRunner,
    Message,
    Names,
    Publisher,
    check_streams,
    connect,
    disconnect,
    ensure_streams,
)
from soleflip.common.errors import Unavailable
from tests.support.wait import until


async def test_connect_waits_for_a_server_that_starts_late(restartable_nats: Any) -> None:
    restartable_nats.stop()
    timer = threading.Timer(1.0, restartable_nats.start)
    timer.start()
    try:
        nc = await connect(restartable_nats.url, name="late", first_connect_timeout=15)
    finally:
        timer.join()
    assert nc.is_connected
    await disconnect(nc)


async def test_connect_gives_up_after_its_bound(restartable_nats: Any) -> None:
    restartable_nats.stop()
    started = time.monotonic()

    with pytest.raises(Unavailable, match="did not answer"):
        await connect(restartable_nats.url, name="never", first_connect_timeout=1.5)

    assert time.monotonic() - started < 4


async def test_consumer_survives_a_server_restart_without_losing_messages(
    restartable_nats: Any, names: Names
) -> None:
    nc = await connect(restartable_nats.url, name="restart", reconnect_wait=0.2)
    js = nc.jetstream()
    await ensure_streams(js, names)
    publisher = Publisher(js, names)
    seen: set[str] = set()

    async def handle(message: Message) -> None:
        seen.add(message.data.decode())

    runner = ConsumerRunner(
        nc, names, stream="INGEST", durable="test-restart", subjects=["ingest.>"], handler=handle
    )
    await runner.start()
    try:
        before = [f"before-{i}" for i in range(20)]
        for body in before:
            await publisher.publish("ingest.test.thing", body.encode(), msg_id=body)
        await until(lambda: seen >= set(before))

        await asyncio.to_thread(restartable_nats.restart)
        await until(lambda: nc.is_connected)
        after = [f"after-{i}" for i in range(20)]
        for body in after:
            await publisher.publish("ingest.test.thing", body.encode(), msg_id=body)
        await until(lambda: seen >= set(after), 20)
    finally:
        await runner.stop(grace=5)
        await disconnect(nc)
    assert seen == set(before) | set(after)


async def test_readiness_check_answers_at_once_while_nats_is_down(
    restartable_nats: Any, names: Names
) -> None:
    nc = await connect(restartable_nats.url, name="ready")
    try:
        await ensure_streams(nc.jetstream(), names)
        assert await check_streams(nc.jetstream(), names) == []
        restartable_nats.stop()
        started = time.monotonic()
        # Until the client notices, the check is bounded by its deadline; afterwards, immediate.
        first = await check_streams(nc.jetstream(), names, within=1.0)
        await until(lambda: not nc.is_connected)
        problems = await check_streams(nc.jetstream(), names)

        assert first
        assert problems == ["NATS is not connected"]
        assert time.monotonic() - started < 2.5
    finally:
        await disconnect(nc)
