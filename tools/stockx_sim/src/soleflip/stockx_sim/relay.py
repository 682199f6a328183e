"""The webhook relay: POSTs Standard-Webhooks-signed CloudEvents of sim changes to a URL.

Not a StockX feature (StockX has no webhooks): it stands in for n8n or partner relays, and can
lose, duplicate, reorder and delay events to exercise the receiver's convergence.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from soleflip.stockx_sim.world import World


@dataclass(slots=True)
class RelayConfig:
    """Where events go and how badly the network behaves."""

    url: str
    secret: str
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    delay_ms: int = 0


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, key after `whsec_`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class Relay:
    """Drains `world.events` and delivers them according to `RelayConfig`."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.config: RelayConfig | None = None
        self.rng = random.Random(world.config.seed ^ 0xE7E7)
        self.held: list[dict[str, Any]] = []
        self.stats = {
            "sent": 0,
            "dropped": 0,
            "duplicated": 0,
            "reordered": 0,
            "rejected": 0,
            "failed": 0,
        }

    def configure(self, config: RelayConfig | None) -> None:
        self.config = config
        self.world.relay_enabled = config is not None
        if config is None:
            self.world.events.clear()
            self.held.clear()

    def describe(self) -> dict[str, Any]:
        config = None if self.config is None else {**asdict(self.config), "secret": "***"}
        return {"config": config, "stats": dict(self.stats), "pending": len(self.world.events)}

    def _plan(self) -> list[dict[str, Any]]:
        """Take pending events and apply loss, duplication and reordering to them.

        A reordered event is held back and goes out after the next cycle's events; it is never
        held twice, so every event that is not lost is eventually delivered.
        """
        config = self.config
        assert config is not None
        fresh, overdue = list(self.world.events), self.held
        self.world.events.clear()
        self.held = []
        ready: list[dict[str, Any]] = []
        for event in fresh:
            if self.rng.random() < config.loss:
                self.stats["dropped"] += 1
            elif self.rng.random() < config.reorder:
                self.held.append(event)
                self.stats["reordered"] += 1
            else:
                ready.append(event)
        out: list[dict[str, Any]] = []
        for event in [*ready, *overdue]:  # held events now trail newer ones
            out.append(event)
            if self.rng.random() < config.duplicate:
                out.append(event)
                self.stats["duplicated"] += 1
        return out

    async def pump(self, client: httpx.AsyncClient) -> None:
        """Deliver what is pending now (called by the background loop)."""
        if self.config is None or not (self.world.events or self.held):
            return
        for event in self._plan():
            await self._deliver(client, event)

    async def _deliver(self, client: httpx.AsyncClient, event: dict[str, Any]) -> None:
        config = self.config
        if config is None:
            return
        if config.delay_ms:
            await asyncio.sleep(config.delay_ms / 1000)
        body = json.dumps(event, separators=(",", ":")).encode()
        for attempt in range(3):
            # The timestamp is wall time: the receiver checks it against its own clock.
            stamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": event["id"],
                "webhook-timestamp": str(stamp),
                "webhook-signature": sign(config.secret, event["id"], stamp, body),
            }
            try:
                response = await client.post(config.url, content=body, headers=headers)
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code < 500:
                self.stats["sent" if response.status_code < 400 else "rejected"] += 1
                return
            await asyncio.sleep(0.2 * 2**attempt)
        self.stats["failed"] += 1
