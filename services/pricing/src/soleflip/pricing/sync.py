"""`soleflip sync market`: refresh the market data of every tracked product once, now.

    soleflip sync market

Every product pricing tracks (listed, stocked or known from catalog) gets one per-product
market-data call per listing currency, recorded through the same path as webhooks and polls
(changes are stored, published and re-evaluate their listings). It spends from the shared StockX
budget at market-data priority, so a large catalog may stop at the budget and say so. Progress goes
to stderr. `--since` is accepted for symmetry and ignored: market data has no
history to backfill.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from soleflip.common.observability import configure_observability
from soleflip.common.progress import progress
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.settings import load_settings
from soleflip.common.stockx import StockXError
from soleflip.pricing.app import SERVICE, STREAMS
from soleflip.pricing.pollers import MarketPoller
from soleflip.pricing.service import PricingService
from soleflip.pricing.settings import load_pricing_settings


async def sync_market() -> int:
    settings = load_settings()
    configure_observability(SERVICE, settings, logs_to_stderr=True)
    runtime = ServiceRuntime(SERVICE, settings, streams=STREAMS)
    async with runtime.lifespan():
        poller = MarketPoller(PricingService(runtime, load_pricing_settings()))
        products, currencies = await poller.plan()
        failures = 0
        with progress("sync market", total=len(products) * len(currencies), unit="call") as bar:
            try:
                for product_id, tier in products:
                    for currency in currencies:
                        failures += not await poller.poll_product(product_id, currency, tier)
                        bar.update(1)
            except StockXError as exc:  # budget spent, or StockX unavailable
                print(f"sync market: stopped, {exc}", file=sys.stderr)
                return 1
    print(f"sync market: {len(products)} products, {failures} failed calls")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soleflip sync", description=__doc__)
    parser.add_argument("what", choices=["market"])
    parser.add_argument("--since", help="ignored: market data has no history to backfill")
    parser.parse_args(argv)
    return asyncio.run(sync_market())


if __name__ == "__main__":
    sys.exit(main())
