"""Ingest on a 3-node NATS cluster with R3 streams: a node crashes mid-burst, no 202 is lost.

Three nats-server processes on loopback form a cluster with JetStream `sync_interval: always`
(the production setting, deploy/k8s/overlays/prod/nats-values.yaml); `soleflip serve ingest` is
given all three URLs and SOLEFLIP_NATS_REPLICAS=3. Senders post signed webhooks while the INGEST
stream's leader is killed with SIGKILL. Answers may be 503 while a new leader is elected (the
sender retries those); every event answered 202 must be in the stream afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
import pytest
from nats.js import JetStreamContext
from nats.js.errors import ServiceUnavailableError

from soleflip.common.bus import Names
from soleflip.common.localinfra import InfraError, find_nats_server, free_port
from soleflip.ingest.domain import sign

pytestmark = pytest.mark.slow

NODES = 3
SENDERS = 6
BEFORE_KILL_S = 1.5
#: After the crash the burst goes on until this many more 202s, or the recovery deadline.
ACCEPTED_AFTER_KILL = 200
RECOVERY_TIMEOUT_S = 30.0
MAX_REQUESTS = 20_000
START_TIMEOUT_S = 30.0


@dataclass
class Node:
    """One nats-server of the cluster."""

    name: str
    client_port: int
    route_port: int
    monitor_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    def config(self, store: Path, routes: list[str]) -> str:
        return "\n".join(
            [
                f"server_name: {self.name}",
                f"listen: 127.0.0.1:{self.client_port}",
                f"http: 127.0.0.1:{self.monitor_port}",
                f'jetstream {{ store_dir: "{store}", sync_interval: always }}',
                "cluster {",
                "  name: soleflip-test",
                f"  listen: 127.0.0.1:{self.route_port}",
                f"  routes: [{', '.join(routes)}]",
                "}",
            ]
        )

    def healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.monitor_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False


@dataclass
class Outcomes:
    accepted: set[str] = field(default_factory=set)
    accepted_after_kill: int = 0
    unavailable: int = 0
    unexpected: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.accepted) + self.unavailable + len(self.unexpected)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[Node]]:
    try:
        binary = find_nats_server()
    except InfraError as exc:
        pytest.skip(f"no nats-server binary: {exc}")
    nodes = [Node(f"n{i}", free_port(), free_port(), free_port()) for i in range(NODES)]
    routes = [f"nats-route://127.0.0.1:{n.route_port}" for n in nodes]
    for node in nodes:
        conf = tmp_path / f"{node.name}.conf"
        conf.write_text(node.config(tmp_path / node.name, routes))
        log = (tmp_path / f"{node.name}.log").open("ab")
        node.process = subprocess.Popen(
            [str(binary), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not all(n.healthy() for n in nodes):
            assert time.monotonic() < deadline, "the NATS cluster did not become healthy"
            time.sleep(0.1)
        yield nodes
    finally:
        for node in nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.kill()
            if node.process is not None:
                node.process.wait(timeout=10)


@pytest.fixture
def ingest(cluster: list[Node], names: Names) -> Iterator[tuple[str, str]]:
    """`soleflip serve ingest` on the cluster; yields its base URL and webhook secret."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLEFLIP_")}
    env |= {
        "SOLEFLIP_NATS_URL": ",".join(n.url for n in cluster),
        "SOLEFLIP_NATS_PREFIX": names.prefix,
        "SOLEFLIP_NATS_REPLICAS": "3",
        "SOLEFLIP_WEBHOOK_SECRETS_STOCKX": secret,
        "SOLEFLIP_WEBHOOK_RATE_PER_S": "1000000",
        "SOLEFLIP_LOG_LEVEL": "warning",
    }
    command = [str(Path(sys.executable).with_name("soleflip")), "serve", "ingest"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", secret
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
async def js(cluster: list[Node]) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect([n.url for n in cluster], max_reconnect_attempts=-1)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def wait_ready(url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{url}/health/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    pytest.fail("ingest did not become ready on the cluster")


async def send(
    url: str, secret: str, outcomes: Outcomes, killed: asyncio.Event, stop: asyncio.Event
) -> None:
    async with httpx.AsyncClient(timeout=15) as client:
        while not stop.is_set() and outcomes.total < MAX_REQUESTS:
            event_id = f"cluster-{secrets.token_hex(8)}"
            body = json.dumps(
                {
                    "specversion": "1.0",
                    "id": event_id,
                    "source": "cluster-test",
                    "type": "test.cluster.probe",
                    "data": {},
                }
            ).encode()
            ts = str(int(time.time()))
            headers = {
                "content-type": "application/json",
                "webhook-id": event_id,
                "webhook-timestamp": ts,
                "webhook-signature": sign(secret, event_id, ts, body),
            }
            answer = await client.post(f"{url}/webhooks/stockx", content=body, headers=headers)
            if answer.status_code == 202:
                outcomes.accepted.add(event_id)
                outcomes.accepted_after_kill += killed.is_set()
            elif answer.status_code == 503:
                outcomes.unavailable += 1
                await asyncio.sleep(0.05)
            else:
                outcomes.unexpected.append(f"{answer.status_code}: {answer.text[:200]}")


async def recovered(outcomes: Outcomes) -> bool:
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while time.monotonic() < deadline:
        if outcomes.accepted_after_kill >= ACCEPTED_AFTER_KILL:
            return True
        await asyncio.sleep(0.1)
    return False


async def stream_ids(js: JetStreamContext, stream: str) -> set[str]:
    """Every event id in the stream, read once JetStream answers again (bounded)."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while True:
        try:
            return await _read_ids(js, stream)
        except (ServiceUnavailableError, TimeoutError, nats.errors.TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def _read_ids(js: JetStreamContext, stream: str) -> set[str]:
    info = await js.stream_info(stream)
    ids = set()
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(stream, seq)
        assert message.data is not None
        ids.add(json.loads(message.data)["id"])
    return ids


async def test_no_acknowledged_webhook_is_lost_when_the_stream_leader_crashes(
    cluster: list[Node], ingest: tuple[str, str], js: JetStreamContext, names: Names
) -> None:
    url, secret = ingest
    await wait_ready(url)
    stream = names.stream("INGEST")
    info = await js.stream_info(stream)
    assert info.config.num_replicas == 3, "SOLEFLIP_NATS_REPLICAS did not reach the stream"
    assert info.cluster is not None
    leader = next(n for n in cluster if n.name == info.cluster.leader)

    outcomes, killed, stop = Outcomes(), asyncio.Event(), asyncio.Event()
    senders = [
        asyncio.create_task(send(url, secret, outcomes, killed, stop)) for _ in range(SENDERS)
    ]
    await asyncio.sleep(BEFORE_KILL_S)
    accepted_before = len(outcomes.accepted)
    assert leader.process is not None
    leader.process.send_signal(signal.SIGKILL)  # a crash: no lame duck, no flush
    killed.set()
    back = await recovered(outcomes)
    stop.set()
    await asyncio.gather(*senders)

    assert accepted_before > 20, "too little load before the crash to mean anything"
    assert back, f"fewer than {ACCEPTED_AFTER_KILL} 202s within {RECOVERY_TIMEOUT_S:g} s"
    assert not outcomes.unexpected, outcomes.unexpected[:5]
    published = await stream_ids(js, stream)
    lost = outcomes.accepted - published
    assert not lost, f"{len(lost)} of {len(outcomes.accepted)} acknowledged events lost"
