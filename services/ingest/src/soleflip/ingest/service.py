"""What ingest's edges share inside one process: its settings, the webhook endpoint and the
NATS connection it publishes on (ingest keeps no database and calls no StockX). The lifespan
connects, makes sure the INGEST stream exists and binds the endpoint to a publisher; readiness
checks the connection and the stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from nats.aio.client import Client

from soleflip.common.bus import (
    Names,
    Publisher,
    check_streams,
    connect,
    ensure_streams,
    stream_spec,
)
from soleflip.common.errors import Unavailable
from soleflip.common.runtime import freeze_startup_objects
from soleflip.common.settings import Settings
from soleflip.ingest.acks import AckTracker
from soleflip.ingest.handlers import JetStreamSink
from soleflip.ingest.http import WebhookEndpoint

SERVICE = "ingest"
#: PubAck wait per attempt, and the fallback's attempts: a stuck JetStream answers 503 within
#: seconds; a disconnected one at once.
PUBLISH_TIMEOUT_S = 2.0
PUBLISH_ATTEMPTS = 2


class IngestService:
    """One ingest process: settings, the webhook endpoint and its NATS connection."""

    def __init__(self, settings: Settings, endpoint: WebhookEndpoint) -> None:
        self.settings = settings
        self.names = Names(settings.nats_prefix)
        self.endpoint = endpoint
        self.nc: Client | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        nc = await connect(self.settings.nats_url, name=SERVICE)
        self.nc = nc
        acks: AckTracker | None = None
        try:
            js = nc.jetstream()
            await ensure_streams(
                js, self.names, specs=[stream_spec("INGEST")], replicas=self.settings.nats_replicas
            )
            fallback = Publisher(
                js, self.names, timeout=PUBLISH_TIMEOUT_S, attempts=PUBLISH_ATTEMPTS
            )
            acks = AckTracker(nc, timeout=PUBLISH_TIMEOUT_S)
            await acks.start()
            sink = JetStreamSink(nc, acks, self.names, fallback=fallback)
            self.endpoint.bind(sink)
            freeze_startup_objects()
            yield
        finally:
            self.endpoint.bind(None)
            if acks is not None:
                await acks.stop()
            self.nc = None
            await nc.drain()

    async def check_nats(self) -> None:
        if self.nc is None or not self.nc.is_connected:
            raise Unavailable("not connected to NATS")
        problems = await check_streams(
            self.nc.jetstream(), self.names, specs=[stream_spec("INGEST")]
        )
        if problems:
            raise Unavailable("; ".join(problems))
