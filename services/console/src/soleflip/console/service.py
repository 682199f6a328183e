"""What the console's edges share inside one process: the shared settings, the console's own,
the session keeper, the REST clients of the four services, and a NATS connection for the
dead-letter stream (which has no REST API; `soleflip dlq` reads it the same way)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from litestar import Litestar
from nats.aio.client import Client
from nats.js import JetStreamContext

from soleflip.common.bus import Names, connect, disconnect
from soleflip.common.errors import Unavailable
from soleflip.common.observability import get_logger
from soleflip.common.settings import Settings
from soleflip.console.backends import Backends, ServiceError
from soleflip.console.session import Sessions
from soleflip.console.settings import ConsoleSettings

_log = get_logger("soleflip.console")


class ConsoleService:
    """The console process; the clients are open inside its lifespan."""

    def __init__(self, settings: Settings, options: ConsoleSettings) -> None:
        self.settings = settings
        self.options = options
        self.names = Names(prefix=settings.nats_prefix)
        self.sessions = Sessions(settings.api_tokens, settings.fernet_keys, options.session_ttl_s)
        self.backends = Backends(
            options.service_urls, options.service_token, options.request_timeout_s
        )
        self._nc: Client | None = None
        self._nats_lock = asyncio.Lock()

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        if not self.settings.fernet_keys:
            _log.warning("console.sessions_per_process", reason="SOLEFLIP_FERNET_KEYS is empty")
        if not self.options.service_token:
            _log.warning("console.no_service_token", variable="SOLEFLIP_CONSOLE_SERVICE_TOKEN")
        await self.backends.open()
        try:
            yield
        finally:
            await self.backends.close()
            if self._nc is not None:
                await disconnect(self._nc)

    async def jetstream(self) -> JetStreamContext:
        """JetStream on a connection made at first use (the pages work while NATS is down)."""
        async with self._nats_lock:
            if self._nc is None:
                try:
                    self._nc = await connect(
                        self.settings.nats_url, name="console", first_connect_timeout=3
                    )
                except Unavailable:
                    raise ServiceError("NATS", None, "is unreachable; is it running?") from None
            if not self._nc.is_connected:
                raise ServiceError("NATS", None, "is reconnecting; try again in a moment")
            return self._nc.jetstream()

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
