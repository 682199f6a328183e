"""Test support across tiers: the StockX simulator in its own process, its control plane, and
settings (and `SOLEFLIP_*` variables) pointing a service at one test's database, NATS and the
simulator. Lives under `tests/`, not in a product package: it imports the simulator (a dev tool).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from cryptography.fernet import Fernet

from soleflip.common.bus import Names
from soleflip.common.http import hash_token
from soleflip.common.settings import ApiToken, Settings
from soleflip.stockx_sim.process import served_simulator

SIM_CREDENTIALS = {
    "stockx_client_id": "sim-client",
    "stockx_client_secret": "sim-secret",
    "stockx_refresh_token": "sim-refresh",
    "stockx_api_key": "sim-api-key",
}
READ_TOKEN = "test-read"
WRITE_TOKEN = "test-write"
FERNET_KEY = Fernet.generate_key().decode()


@contextmanager
def simulator_process() -> Iterator[str]:
    """`soleflip stockx-sim` in its own process without rate limit; yields its base URL."""
    with served_simulator(rate_per_s=0) as url:
        yield url


def settings_for(dsn: str, nats_url: str, names: Names, sim_url: str) -> Settings:
    """Settings pointing at one test's database, NATS namespace and the simulator."""
    return Settings(
        database_url=dsn,
        nats_url=(nats_url,),
        nats_prefix=names.prefix,
        stockx_api_url=f"{sim_url}/v2",
        stockx_auth_url=sim_url,
        stockx_rate_per_s=10_000.0,
        fernet_keys=(FERNET_KEY,),
        api_tokens=(
            ApiToken(name="reader", scopes=frozenset({"read"}), sha256=hash_token(READ_TOKEN)),
            ApiToken(
                name="writer", scopes=frozenset({"read", "write"}), sha256=hash_token(WRITE_TOKEN)
            ),
        ),
        log_format="console",
        log_level="warning",
        **SIM_CREDENTIALS,  # type: ignore[arg-type]
    )


def env_for(settings: Settings) -> dict[str, str]:
    """The same settings as `SOLEFLIP_*` variables, for a subprocess."""
    return {
        **os.environ,
        "SOLEFLIP_DATABASE_URL": settings.database_url,
        "SOLEFLIP_NATS_URL": ",".join(settings.nats_url),
        "SOLEFLIP_NATS_PREFIX": settings.nats_prefix,
        "SOLEFLIP_STOCKX_API_URL": settings.stockx_api_url,
        "SOLEFLIP_STOCKX_AUTH_URL": settings.stockx_auth_url,
        "SOLEFLIP_STOCKX_RATE_PER_S": str(settings.stockx_rate_per_s),
        "SOLEFLIP_STOCKX_CLIENT_ID": settings.stockx_client_id,
        "SOLEFLIP_STOCKX_CLIENT_SECRET": settings.stockx_client_secret,
        "SOLEFLIP_STOCKX_REFRESH_TOKEN": settings.stockx_refresh_token,
        "SOLEFLIP_STOCKX_API_KEY": settings.stockx_api_key,
        "SOLEFLIP_FERNET_KEYS": ",".join(settings.fernet_keys),
        "SOLEFLIP_LOG_LEVEL": "warning",
    }


class Sim:
    """The simulator's control plane (`/_sim/*`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def seed(self, seed: int, products: int) -> dict[str, Any]:
        body = {"seed": seed, "products": products, "listings": 0, "orders": 0}
        answer: dict[str, Any] = self.http.post("/_sim/seed", json=body).json()
        self.clear_requests()
        return answer

    def products(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.http.get("/_sim/state/products").json()["products"]
        return found

    def stale(self, product_ids: list[str]) -> dict[str, str]:
        answer = self.http.put("/_sim/faults", json={"stale_product_ids": product_ids}).json()
        remapped: dict[str, str] = answer["remapped"]
        return remapped

    def requests(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.http.get("/_sim/requests").json()["requests"]
        return found

    def clear_requests(self) -> None:
        self.http.post("/_sim/requests/clear")
