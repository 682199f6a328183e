"""`StockXClient`: all 32 StockX Public API v2 operations behind one shared budget and token.

Built once per process in the service's composition root (`await StockXClient.connect(...)`),
closed with `aclose()` or `async with`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import httpx
from opentelemetry import trace

from soleflip.common.bus.names import Names
from soleflip.common.crypto import Crypto
from soleflip.common.settings import Settings
from soleflip.common.stockx._api_batches import BatchesApi
from soleflip.common.stockx._api_catalog import CatalogApi
from soleflip.common.stockx._api_listings import ListingsApi
from soleflip.common.stockx._api_orders import OrdersApi
from soleflip.common.stockx._auth import OAuthCredentials, TokenSource, TokenTiming, token_key
from soleflip.common.stockx._budget import KvBudget, RequestBudget, budget_key
from soleflip.common.stockx._kv import AUTH_BUCKET, BUDGET_BUCKET, open_bucket
from soleflip.common.stockx._token_store import KvTokenStore
from soleflip.common.stockx._transport import TRACER_NAME, ClientConfig, Transport


def new_http_client(settings: Settings, config: ClientConfig) -> httpx.AsyncClient:
    """The pooled HTTP client: keep-alive connections to StockX and its auth host."""
    limits = httpx.Limits(
        max_connections=config.max_connections,
        max_keepalive_connections=config.max_connections,
    )
    return httpx.AsyncClient(
        base_url=settings.stockx_api_url.rstrip("/") + "/",
        limits=limits,
        timeout=config.request_timeout_s,
        headers={"User-Agent": "soleflip/0.1 (+stockx-client)"},
    )


class StockXClient(CatalogApi, ListingsApi, BatchesApi, OrdersApi):
    """The StockX Public API v2 client shared by every service (one per process)."""

    def __init__(
        self,
        settings: Settings,
        *,
        tokens: TokenSource,
        budget: RequestBudget,
        http: httpx.AsyncClient | None = None,
        config: ClientConfig | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> None:
        self.config = config or ClientConfig()
        self._owns_http = http is None
        self._tokens = tokens
        self.http = http or new_http_client(settings, self.config)
        self._t = Transport(
            http=self.http,
            api_key=settings.stockx_api_key,
            tokens=tokens,
            budget=budget,
            config=self.config,
            sleep=sleep,
            rng=rng,
            tracer=trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider),
        )

    @classmethod
    async def connect(
        cls,
        settings: Settings,
        js: Any,
        *,
        names: Names | None = None,
        config: ClientConfig | None = None,
        timing: TokenTiming | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> StockXClient:
        """The production client: token and budget shared through NATS KV (`js` is a
        nats-py JetStream context) in buckets created with `settings.nats_replicas` copies;
        `names` namespaces the buckets and `http` replaces the pooled HTTP client (tests).
        The client closes only an HTTP client it created."""
        names = names or Names(settings.nats_prefix)
        config = config or ClientConfig()
        replicas = settings.nats_replicas
        auth_kv = await open_bucket(js, names, AUTH_BUCKET, replicas=replicas)
        budget_kv = await open_bucket(js, names, BUDGET_BUCKET, replicas=replicas)
        # after the buckets: a refused bucket leaves no HTTP client behind unclosed
        owns_http = http is None
        http = http or new_http_client(settings, config)
        credentials = OAuthCredentials.from_settings(settings)
        tokens = KvTokenStore(
            auth_kv,
            Crypto(settings.fernet_keys),
            http,
            credentials,
            key=token_key(settings.stockx_client_id),
            timing=timing,
        )
        budget = KvBudget(
            budget_kv,
            key=budget_key(settings.stockx_api_key),
            rate_per_s=settings.stockx_rate_per_s,
            daily=settings.stockx_daily_budget,
        )
        client = cls(settings, tokens=tokens, budget=budget, http=http, config=config)
        client._owns_http = owns_http
        return client

    @property
    def auth_problem(self) -> str | None:
        """Why this process's last attempt to get a token failed for want of credentials (a dead
        refresh token, an undecryptable record), or None."""
        problem = getattr(self._tokens, "auth_problem", None)
        return problem if isinstance(problem, str) else None

    @property
    def circuit_state(self) -> str:
        """`closed`, `open` or `half_open`."""
        return self._t.breaker.state

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
