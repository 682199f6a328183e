"""`soleflip dlq list|replay` as an operator runs it: its own process, real dead letters."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from nats.aio.client import Client
from nats.js import JetStreamContext

from soleflip.common.bus import Names, Publisher, list_dead_letters
from tests.integration.common.support import HealingConsumer, until_dead
from tests.support.wait import until


async def _cli(nats_url: str, names: Names, *args: str) -> tuple[int, str, str]:
    """Run `soleflip <args>` in its own process with the test's NATS and prefix."""
    env = {**os.environ, "SOLEFLIP_NATS_URL": nats_url, "SOLEFLIP_NATS_PREFIX": names.prefix}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "soleflip.common.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_lists_real_dead_letters_and_replays_them_to_the_healed_consumer(
    bus_nc: Client, bus_js: JetStreamContext, names: Names, nats_url: str
) -> None:
    consumer = HealingConsumer(bus_nc, names, error="size 47.5 is not in the size chart")
    await consumer.runner.start()
    try:
        publisher = Publisher(bus_js, names)
        await publisher.publish("ingest.stockx.order.updated", b'{"n": 1}', msg_id="evt-a")
        await publisher.publish("ingest.stockx.order.updated", b'{"n": 2}', msg_id="evt-b")
        await until_dead(bus_js, names, 2)

        code, out, err = await _cli(nats_url, names, "dlq", "list", "--consumer", "orders-ingest")
        assert code == 0, err
        assert [line.split()[3] for line in out.splitlines()] == ["id=evt-a", "id=evt-b"]
        assert "size 47.5 is not in the size chart" in out

        code, out, err = await _cli(nats_url, names, "dlq", "list", "--json", "--limit", "1")
        assert code == 0, err
        [letter] = [json.loads(line) for line in out.splitlines()]
        assert (letter["original_msg_id"], letter["consumer"]) == ("evt-a", "orders-ingest")
        assert letter["subject"] == "ingest.stockx.order.updated"

        consumer.heal()
        code, out, err = await _cli(
            nats_url,
            names,
            "dlq",
            "replay",
            "--consumer",
            "orders-ingest",
            "--seq",
            str(letter["seq"]),
        )
        assert code == 0, err
        assert out.strip() == f"#{letter['seq']} replayed"
        await until(lambda: len(consumer.seen) == 1)
    finally:
        await consumer.runner.stop()

    seen = consumer.seen
    assert (seen[0].event_id, seen[0].data) == ("evt-a", b'{"n": 1}')
    left = await list_dead_letters(bus_js, names)
    assert [d.original_msg_id for d in left] == ["evt-b"]  # only the replayed letter is deleted


async def test_cli_replay_of_an_unknown_sequence_fails_naming_it_without_a_traceback(
    bus_js: JetStreamContext, names: Names, nats_url: str
) -> None:
    code, out, err = await _cli(nats_url, names, "dlq", "replay", "--seq", "999")
    assert (code, out) == (1, "")
    assert "no dead letter #999" in err
    assert "Traceback" not in err
    assert await list_dead_letters(bus_js, names) == []
