"""The whole simulated StockX in memory: catalog, seller account, auth state, faults and logs."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from soleflip.stockx_sim.catalog import Product, Variant, build_catalog
from soleflip.stockx_sim.clock import SimClock, iso, uuid4_from
from soleflip.stockx_sim.errors import not_found
from soleflip.stockx_sim.records import Batch, Ingestion, Listing, Order
from soleflip.stockx_sim.settings import SimConfig


@dataclass(slots=True)
class Faults:
    """Injected misbehaviour, set through `PUT /_sim/faults`."""

    storm_until: float = 0.0
    error_rate: float = 0.0
    latency_ms: int = 0
    operation_failure_rate: float = 0.0
    stale_product_ids: set[str] = field(default_factory=set)
    #: Ids (product, variant, listing, order) whose every `/v2` call answers 500.
    failing_ids: set[str] = field(default_factory=set)
    #: `Retry-After` seconds on a 429; None sends none (StockX documents no such header).
    retry_after_s: float | None = None


@dataclass(slots=True)
class AuthState:
    """Issued refresh tokens, pending authorization codes and the revocation watermark."""

    refresh_tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    issued: dict[str, float] = field(default_factory=dict)
    revoked_before: float = 0.0


class World:
    """State of one simulator instance; `seed` rebuilds everything deterministically."""

    def __init__(self, config: SimConfig, clock: SimClock | None = None) -> None:
        self.config = config
        self.clock = clock or SimClock(speed=config.clock_speed)
        self.faults = Faults()
        self.auth = AuthState()
        self.requests: deque[dict[str, Any]] = deque(maxlen=10_000)
        # Token-endpoint calls, apart from the `/v2` log, which other tests count path by path.
        self.token_requests: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.events: list[dict[str, Any]] = []
        self.relay_enabled = False
        self.market_hour = -1
        self.rng = random.Random(f"{config.seed}:account")
        self.fault_rng = random.Random(config.seed ^ 0x5EED)
        self.products: dict[str, Product] = {}
        self.variants: dict[str, Variant] = {}
        self.gtins: dict[str, Variant] = {}
        self.listings: dict[str, Listing] = {}
        self.orders: dict[str, Order] = {}
        self.batches: dict[str, Batch] = {}
        self.ingestions: dict[str, Ingestion] = {}
        self.market_overrides: dict[tuple[str, str], dict[str, int | None]] = {}
        self.reset_auth()

    def reset_catalog(self, seed: int, count: int) -> None:
        """Replace catalog and account with the ones `seed` produces."""
        # A separate stream from the catalog's, so account ids never repeat catalog ids.
        self.rng = random.Random(f"{seed}:account")
        self.fault_rng = random.Random(seed ^ 0x5EED)
        products = build_catalog(random.Random(seed), count)
        self.products = {p.product_id: p for p in products}
        self.variants = {v.variant_id: v for p in products for v in p.variants}
        self.gtins = {g: v for v in self.variants.values() for g, _ in v.gtins}
        self.listings, self.orders, self.batches, self.ingestions = {}, {}, {}, {}
        self.market_overrides = {}
        self.faults.stale_product_ids = set()

    def reset_auth(self) -> None:
        self.auth = AuthState()
        self.auth.refresh_tokens[self.config.refresh_token] = {
            "client_id": self.config.client_id,
            "scope": "offline_access openid",
            "sub": "auth0|5f1e0c2a9d3b4c0069a1b2c3",
        }

    def now(self) -> float:
        return self.clock.now()

    def new_id(self) -> str:
        return uuid4_from(self.rng)

    def digits(self, count: int) -> str:
        return str(self.rng.randrange(1, 10)) + "".join(
            str(self.rng.randrange(10)) for _ in range(count - 1)
        )

    def product(self, product_id: str) -> Product:
        """The product behind an id; stale ids and non-ids are 404 "Resource not found"."""
        product = self.products.get(product_id)
        if product is None or product_id in self.faults.stale_product_ids:
            raise not_found()
        return product

    def variant(self, variant_id: str) -> Variant:
        variant = self.variants.get(variant_id)
        if variant is None:
            raise not_found()
        return variant

    def rekey_product(self, product_id: str) -> str:
        """Give a product a fresh id and leave the old one dead (a stale productId)."""
        product = self.products.pop(product_id)
        new_id = self.new_id()
        product.product_id = new_id
        for variant in product.variants:
            variant.product_id = new_id
        for listing in self.listings.values():
            if listing.product_id == product_id:
                listing.product_id = new_id
        for order in self.orders.values():
            if order.product_id == product_id:
                order.product_id = new_id
        self.products[new_id] = product
        self.faults.stale_product_ids.add(product_id)
        return new_id

    def emit(self, kind: str, subject: str, data: dict[str, Any]) -> None:
        """Queue a change event for the relay (dropped when no relay is configured)."""
        if not self.relay_enabled:
            return
        self.events.append(
            {
                "specversion": "1.0",
                "id": self.new_id(),
                "source": "stockx-sim",
                "type": kind,
                "subject": subject,
                "time": iso(self.now()),
                "datacontenttype": "application/json",
                "data": data,
            }
        )
