"""Ingest running in-process (Litestar's AsyncTestClient) against a real NATS JetStream."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import nats
import pytest
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from soleflip.common.bus import Names
from soleflip.common.http import build_server
from soleflip.common.localinfra import free_port
from soleflip.common.settings import Settings
from soleflip.ingest.app import create_app
from soleflip.ingest.domain import sign

N8N_TOKEN = "n8n-token-" + "x" * 16
CAP = 4096


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Secrets:
    """The secrets the app under test is configured with (two for stockx: rotation)."""

    stockx_old: str
    stockx_new: str
    n8n: str


@pytest.fixture
def webhook_secrets() -> Secrets:
    return Secrets(new_secret(), new_secret(), new_secret())


def ingest_settings(
    nats_url: str, names: Names, webhook_secrets: Secrets, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "nats_url": (nats_url,),
        "nats_prefix": names.prefix,
        "webhook_secrets_stockx": (webhook_secrets.stockx_old, webhook_secrets.stockx_new),
        "webhook_secrets_n8n": (webhook_secrets.n8n,),
        "n8n_tokens": (N8N_TOKEN,),
        "max_body_bytes": CAP,
        "webhook_rate_per_s": 10_000.0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def settings(nats_url: str, names: Names, webhook_secrets: Secrets) -> Settings:
    return ingest_settings(nats_url, names, webhook_secrets)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
async def js(nats_url: str, names: Names) -> AsyncIterator[JetStreamContext]:
    """A separate connection to inspect the stream; the test's stream is deleted afterwards."""
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    with contextlib.suppress(NotFoundError):  # the test may never have created it
        await nc.jetstream().delete_stream(names.stream("INGEST"))
    await nc.close()


Sign = Callable[..., dict[str, str]]


@pytest.fixture
def signed(webhook_secrets: Secrets) -> Sign:
    """Headers of a Standard Webhooks request over `body` (new stockx secret by default)."""

    def headers(
        body: bytes,
        *,
        msg_id: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        **extra: str,
    ) -> dict[str, str]:
        msg_id = msg_id or f"msg_{secrets.token_hex(8)}"
        ts = int(time.time()) if timestamp is None else timestamp
        signature = sign(secret or webhook_secrets.stockx_new, msg_id, ts, body)
        return {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": signature,
            **extra,
        }

    return headers


def order_event(**overrides: Any) -> dict[str, Any]:
    event = {
        "specversion": "1.0",
        "id": f"evt_{secrets.token_hex(8)}",
        "source": "relay",
        "type": "stockx.order.updated",
        "data": {"orderNumber": "75437-1", "status": "CREATED", "extra": {"kept": True}},
    }
    return {**event, **overrides}


def body_of(value: Any) -> bytes:
    return json.dumps(value).encode()


async def stream_messages(js: JetStreamContext, names: Names) -> int:
    info = await js.stream_info(names.stream("INGEST"))
    return int(info.state.messages)


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    """Ingest served by uvicorn (httptools, as in production) on a free port; yields its URL."""
    server = build_server(create_app(settings), host="127.0.0.1", port=free_port())
    thread = threading.Thread(target=server.run, name="ingest-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("ingest did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=30)
