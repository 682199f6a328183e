"""Streams and KV buckets are created at start-up, idempotently, and drift is corrected."""

from __future__ import annotations

from nats.aio.client import Client
from nats.js import JetStreamContext

from soleflip.common.bus import STREAMS, Names, check_streams, ensure_kv, ensure_streams


async def test_ensure_streams_creates_every_contract_stream_then_changes_nothing(
    bus_nc: Client, names: Names
) -> None:
    js = bus_nc.jetstream()
    try:
        first = await ensure_streams(js, names)
        second = await ensure_streams(js, names)
        info = await js.stream_info(names.stream("INGEST"))
    finally:
        for spec in STREAMS:
            await js.delete_stream(names.stream(spec.name))
    assert first == {spec.name: "created" for spec in STREAMS}
    assert second == {spec.name: "unchanged" for spec in STREAMS}
    assert info.config.subjects == [names.subject("ingest.>")]
    assert info.config.max_age == 14 * 24 * 3600
    assert info.config.duplicate_window == 3600


async def test_ensure_streams_corrects_a_drifted_stream(
    bus_js: JetStreamContext, names: Names
) -> None:
    live = (await bus_js.stream_info(names.stream("ORDERS"))).config
    await bus_js.update_stream(live.evolve(max_age=60.0, duplicate_window=30.0))

    actions = await ensure_streams(bus_js, names)

    fixed = (await bus_js.stream_info(names.stream("ORDERS"))).config
    assert actions["ORDERS"] == "updated"
    assert actions["INGEST"] == "unchanged"
    assert (fixed.max_age, fixed.duplicate_window) == (30 * 24 * 3600, 15 * 60)


async def test_check_streams_reports_a_missing_stream(
    bus_js: JetStreamContext, names: Names
) -> None:
    assert await check_streams(bus_js, names) == []
    await bus_js.delete_stream(names.stream("PRICING"))

    problems = await check_streams(bus_js, names)

    assert problems == [f"stream {names.stream('PRICING')} is missing"]


async def test_ensure_kv_creates_a_bucket_and_corrects_its_history(
    bus_nc: Client, names: Names
) -> None:
    js = bus_nc.jetstream()
    try:
        kv = await ensure_kv(js, names, "stockx_budget", history=1)
        await kv.put("tokens", b"10")
        reopened = await ensure_kv(js, names, "stockx_budget", history=5)
        entry = await reopened.get("tokens")
        info = await js.stream_info(f"KV_{names.bucket('stockx_budget')}")
    finally:
        await js.delete_key_value(names.bucket("stockx_budget"))
    assert entry.value == b"10"
    assert info.config.max_msgs_per_subject == 5
