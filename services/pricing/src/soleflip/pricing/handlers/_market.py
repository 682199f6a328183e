"""Market observations from webhooks and polls go through one path: compare with the latest
figures, store real changes in the time series, publish `pricing.market.updated` for them, and
re-evaluate the listings of the variants that moved."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from soleflip.common.contracts import CloudEvent, new_event
from soleflip.common.contracts.ingest import VariantMarketData as IngestMarketData
from soleflip.common.contracts.pricing import MARKET_UPDATED, MarketSnapshot
from soleflip.common.db import Conn, enqueue_many
from soleflip.common.stockx import VariantMarketData as StockXMarketData
from soleflip.pricing import queries, repository
from soleflip.pricing.domain import Market, market_changed, parse_amount
from soleflip.pricing.handlers._reprice import SOURCE, reevaluate
from soleflip.pricing.metrics import MARKET_OBSERVATIONS

#: StockX answers in USD when no currency is asked for.
DEFAULT_MARKET_CURRENCY = "USD"


def from_webhook(data: IngestMarketData, observed_at: datetime) -> MarketSnapshot:
    """A relayed observation (amounts are StockX's nullable strings)."""
    return MarketSnapshot(
        variant_id=data.variantId,
        currency=(data.currencyCode or DEFAULT_MARKET_CURRENCY).upper(),
        product_id=data.productId,
        lowest_ask=parse_amount(data.lowestAskAmount),
        highest_bid=parse_amount(data.highestBidAmount),
        sell_faster=parse_amount(data.sellFasterAmount),
        earn_more=parse_amount(data.earnMoreAmount),
        observed_at=observed_at,
    )


def from_poll(data: StockXMarketData, currency: str, observed_at: datetime) -> MarketSnapshot:
    """A polled observation (the client already parsed amounts into Decimal)."""
    return MarketSnapshot(
        variant_id=data.variant_id,
        currency=(data.currency_code or currency).upper(),
        product_id=data.product_id,
        lowest_ask=parse_amount(data.lowest_ask_amount),
        highest_bid=parse_amount(data.highest_bid_amount),
        sell_faster=parse_amount(data.sell_faster_amount),
        earn_more=parse_amount(data.earn_more_amount),
        observed_at=observed_at,
    )


def _market(s: MarketSnapshot) -> Market:
    return Market(
        lowest_ask=s.lowest_ask,
        highest_bid=s.highest_bid,
        sell_faster=s.sell_faster,
        earn_more=s.earn_more,
    )


def _row(s: MarketSnapshot) -> repository.MarketRow:
    return (s.variant_id, s.currency, s.product_id, s.lowest_ask, s.highest_bid,
            s.sell_faster, s.earn_more, s.observed_at)  # fmt: skip


async def record_market(
    observations: Sequence[MarketSnapshot],
    *,
    conn: Conn,
    source: str,
    now: datetime,
    cause: CloudEvent | None = None,
) -> list[MarketSnapshot]:
    """Apply observations; returns those that really changed the market."""
    latest = {(o.variant_id, o.currency): o for o in observations}  # last one wins in a batch
    previous = await queries.latest_markets(conn, list(latest))
    changed: list[MarketSnapshot] = []
    same: list[MarketSnapshot] = []
    for key, observation in latest.items():
        moved = market_changed(previous.get(key), _market(observation)).changed
        (changed if moved else same).append(observation)
    await repository.upsert_market(conn, [_row(o) for o in changed], changed=True, source=source)
    await repository.upsert_market(conn, [_row(o) for o in same], changed=False, source=source)
    MARKET_OBSERVATIONS.labels(source, "true").inc(len(changed))
    MARKET_OBSERVATIONS.labels(source, "false").inc(len(same))
    events = [
        (
            MARKET_UPDATED,
            new_event(MARKET_UPDATED, o, source=SOURCE, subject=o.variant_id, cause=cause),
        )
        for o in changed
    ]
    await enqueue_many(conn, events)
    if changed:
        await reevaluate(
            conn=conn, now=now, variants=sorted({o.variant_id for o in changed}), cause=cause
        )
    return changed
