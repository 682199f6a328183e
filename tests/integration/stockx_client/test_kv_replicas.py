"""The StockX client's KV buckets (`stockx_auth`, `stockx_budget`) are created with
`SOLEFLIP_NATS_REPLICAS` copies, like the services' streams."""

from __future__ import annotations

import msgspec
import nats
import pytest
from nats.js.errors import APIError

from soleflip.common.bus.names import Names
from soleflip.common.crypto import Crypto
from soleflip.common.settings import Settings
from soleflip.common.stockx import AUTH_BUCKET, BUDGET_BUCKET, StockXClient

pytestmark = pytest.mark.usefixtures("kv_cleanup")

#: no StockX call is made: the buckets are opened before any request
SETTINGS = Settings(fernet_keys=(Crypto.generate_key(),))


async def test_buckets_are_created_with_the_configured_replicas(
    nats_url: str, names: Names
) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        settings = msgspec.structs.replace(SETTINGS, nats_replicas=1)
        async with await StockXClient.connect(settings, js, names=names):
            pass
        for bucket in (AUTH_BUCKET, BUDGET_BUCKET):
            info = await js.stream_info(f"KV_{names.bucket(bucket)}")
            assert info.config.num_replicas == 1, bucket
    finally:
        await nc.close()


async def test_replicas_reach_the_server_which_refuses_three_on_a_single_node(
    nats_url: str, names: Names
) -> None:
    nc = await nats.connect(nats_url)
    try:
        settings = msgspec.structs.replace(SETTINGS, nats_replicas=3)
        with pytest.raises(APIError, match=r"(?i)replicas"):
            await StockXClient.connect(settings, nc.jetstream(), names=names)
    finally:
        await nc.close()
