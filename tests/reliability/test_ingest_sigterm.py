"""`soleflip serve ingest` under load gets SIGTERM: nothing acknowledged is lost, nothing dropped.

The process is what a container runs. Several senders post signed webhooks (a new connection
per request, so a refused connection can only mean the listener is closed) while the process
is told to stop. Every request must end in a 202, or fail to reach the application at all after
SIGTERM (refused, or reset from the closed listener's backlog) -- and then its event must not
be in the stream, since an event that was published but not answered is a dropped request.
Every 202'd event must be in the INGEST stream, and the process must exit 0 within the grace
period (uvicorn's drain, then the NATS drain).
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
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from soleflip.common.bus import Names
from soleflip.common.http import GRACEFUL_SHUTDOWN_S
from soleflip.common.localinfra import free_port
from soleflip.ingest.domain import sign

pytestmark = pytest.mark.slow

SENDERS = 8
WARM_UP_S = 1.0  # traffic before the SIGTERM
SEND_DEADLINE_S = 20.0  # senders stop by themselves after this, whatever happens
MAX_REQUESTS = 20_000  # a bound on the whole test's traffic
STARTUP_TIMEOUT_S = 30.0
#: What a container gets: Kubernetes' grace period for ingest (deploy/k8s/base/ingest).
GRACE_PERIOD_S = 45.0


@dataclass
class Outcomes:
    """What each request ended in, by event id."""

    accepted: set[str] = field(default_factory=set)
    unreached: dict[str, float] = field(default_factory=dict)  # event id -> when it failed
    unexpected: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.accepted) + len(self.unreached) + len(self.unexpected)


@pytest.fixture
def secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def ingest(nats_url: str, names: Names, secret: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`soleflip serve ingest` on a free port; yields the process and its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLEFLIP_")}
    env |= {
        "SOLEFLIP_NATS_URL": nats_url,
        "SOLEFLIP_NATS_PREFIX": names.prefix,
        "SOLEFLIP_WEBHOOK_SECRETS_STOCKX": secret,
        "SOLEFLIP_WEBHOOK_RATE_PER_S": "1000000",
        "SOLEFLIP_LOG_LEVEL": "warning",
    }
    command = [str(Path(sys.executable).with_name("soleflip")), "serve", "ingest"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture
async def js(nats_url: str, names: Names) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        yield nc.jetstream()
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(names.stream("INGEST"))
    finally:
        await nc.close()


async def wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, "ingest exited during start-up"
            try:
                if (await client.get(f"{url}/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail("ingest did not become ready")


def signed_request(secret: str) -> tuple[str, bytes, dict[str, str]]:
    event_id = f"sigterm-{secrets.token_hex(8)}"
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "sigterm-test",
            "type": "test.sigterm.probe",  # unknown types are accepted into the stream too
            "data": {"n": event_id},
        }
    ).encode()
    ts = str(int(time.time()))
    headers = {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": ts,
        "webhook-signature": sign(secret, event_id, ts, body),
        # A connection per request: no keep-alive race where an idle connection is closed
        # by the server just as the client reuses it.
        "connection": "close",
    }
    return event_id, body, headers


async def send(url: str, secret: str, outcomes: Outcomes, stop_at: float) -> None:
    """Post webhooks until the server cannot be reached, or the deadline."""
    async with httpx.AsyncClient(timeout=10) as client:
        while time.monotonic() < stop_at and outcomes.total < MAX_REQUESTS:
            event_id, body, headers = signed_request(secret)
            try:
                answer = await client.post(f"{url}/webhooks/stockx", content=body, headers=headers)
            except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                outcomes.unreached[event_id] = time.monotonic()
                return
            if answer.status_code == 202:
                outcomes.accepted.add(event_id)
            else:
                outcomes.unexpected.append(f"{answer.status_code}: {answer.text[:200]}")


async def stream_ids(js: JetStreamContext, names: Names) -> set[str]:
    stream = names.stream("INGEST")
    info = await js.stream_info(stream)
    ids = set()
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(stream, seq)
        assert message.data is not None
        ids.add(json.loads(message.data)["id"])
    return ids


async def test_sigterm_under_load_answers_every_request_and_loses_no_accepted_event(
    ingest: tuple[subprocess.Popen[str], str], js: JetStreamContext, names: Names, secret: str
) -> None:
    process, url = ingest
    await wait_ready(url, process)
    outcomes = Outcomes()
    stop_at = time.monotonic() + SEND_DEADLINE_S
    senders = [asyncio.create_task(send(url, secret, outcomes, stop_at)) for _ in range(SENDERS)]
    await asyncio.sleep(WARM_UP_S)
    accepted_before = len(outcomes.accepted)
    sigterm_at = time.monotonic()
    process.send_signal(signal.SIGTERM)

    code = await asyncio.to_thread(process.wait, GRACE_PERIOD_S)
    exited_after = time.monotonic() - sigterm_at
    await asyncio.gather(*senders)
    stderr = process.stderr.read() if process.stderr is not None else ""

    assert code == 0, f"exit code {code}\n{stderr[-3000:]}"
    assert exited_after < GRACEFUL_SHUTDOWN_S + 10, f"took {exited_after:.1f} s to exit"
    assert accepted_before > 50, "too little load before the SIGTERM to mean anything"
    assert not outcomes.unexpected, outcomes.unexpected[:5]
    assert len(outcomes.unreached) == SENDERS, "every sender ends at the closed listener"
    assert min(outcomes.unreached.values()) >= sigterm_at, "refused before the SIGTERM"

    published = await stream_ids(js, names)
    lost = outcomes.accepted - published
    assert not lost, f"{len(lost)} acknowledged events are not in the stream"
    dropped = set(outcomes.unreached) & published
    assert not dropped, f"published but never answered: {dropped}"
