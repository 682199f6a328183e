"""Read SQL behind the KPI reports (`/api/v1/reports/*`): inventory by state and age, sales by
period or group, and the orders the seller must ship. Each is one aggregate over indexed columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import msgspec

from soleflip.common.db import Conn
from soleflip.common.errors import InvalidInput
from soleflip.common.fees import FeeSchedule

#: Units the seller holds (in hand or listed): what ages and ties up money.
HELD_STATUSES = ("IN_STOCK", "LISTED")
#: Orders the seller must still ship (StockX's ship-by date applies).
TO_SHIP_STATUSES = ("CREATED",)
#: Age buckets in days, inclusive upper bounds; the last is open.
AGE_BUCKETS = ((30, "0-30"), (90, "31-90"), (180, "91-180"), (None, ">180"))

#: The age buckets' lower bounds as exact durations (age = whole days since purchase).
AGE_BOUNDS_H = (31 * 24, 91 * 24, 181 * 24)
# Migration 0016's summary: $1 from, $2 to (purchase time), $3 currency, $4 the UTC days read
# unit by unit (a window edge or an age-bucket boundary falls in them); other days from the
# summary, each as its midnight (no boundary falls within it, so its units share a bucket).
_STOCK_PARTS = """
WITH parts AS (
    SELECT status, currency, day::timestamp AT TIME ZONE 'UTC' AS at, units, value,
           cost_missing
    FROM stock_summary
    WHERE day <> ALL($4::date[])
      AND ($1::timestamptz IS NULL OR day > ($1::timestamptz AT TIME ZONE 'UTC')::date)
      AND ($2::timestamptz IS NULL OR day < ($2::timestamptz AT TIME ZONE 'UTC')::date)
      AND ($3::text IS NULL OR currency = $3)
    UNION ALL
    SELECT status, currency, purchased_at, 1, coalesce(landed_cost, 0),
           (cost_missing OR landed_cost IS NULL)::int
    FROM stock_item
    WHERE (purchased_at AT TIME ZONE 'UTC')::date = ANY($4::date[])
      AND ($1::timestamptz IS NULL OR purchased_at >= $1)
      AND ($2::timestamptz IS NULL OR purchased_at < $2)
      AND ($3::text IS NULL OR currency = $3)
)
"""
INVENTORY_BY_STATUS_SQL = f"""{_STOCK_PARTS}
SELECT status, currency, sum(units)::bigint AS units, sum(value) AS value,
       sum(cost_missing)::bigint AS cost_missing
FROM parts
GROUP BY 1, 2
HAVING sum(units) > 0
ORDER BY 1, 2
"""  # noqa: S608 - constant SQL
# $5 now, $6 held statuses.
INVENTORY_AGING_SQL = f"""{_STOCK_PARTS}
SELECT CASE WHEN at > $5::timestamptz - interval '{AGE_BOUNDS_H[0]} hours' THEN 0
            WHEN at > $5::timestamptz - interval '{AGE_BOUNDS_H[1]} hours' THEN 1
            WHEN at > $5::timestamptz - interval '{AGE_BOUNDS_H[2]} hours' THEN 2
            ELSE 3 END AS bucket,
       currency, sum(units)::bigint AS units, sum(value) AS value
FROM parts
WHERE status = ANY($6::text[])
GROUP BY 1, 2
HAVING sum(units) > 0
ORDER BY 1, 2
"""  # noqa: S608 - constant SQL
# Held units of a known variant valued at their variant's latest market in their currency
# (`market_latest`, migration 0015); unrealised profit = the payout at that price (after
# StockX's fees: docs/fees.md, the schedule in force now, `{fees}` as JSON rows per currency)
# less landed cost, over the units whose cost is known; NULL for a currency the schedule does
# not cover. {held}: rows (variant_id, currency, units, units_costed, cost).
_PAYOUT = """({p} - greatest(round({p} * f.rate, 2), f.minimum) - round({p} * f.processing, 2)
              - f.shipping + round({p} * f.bonus, 2))"""
_AT_ASK, _AT_BID = _PAYOUT.format(p="m.lowest_ask"), _PAYOUT.format(p="m.highest_bid")
_MARKET_SQL = f"""
SELECT h.currency, sum(h.units)::bigint AS units,
       coalesce(sum(h.units) FILTER (WHERE m.lowest_ask IS NOT NULL), 0)::bigint
           AS units_at_ask,
       coalesce(sum(h.units * m.lowest_ask), 0) AS value_at_lowest_ask,
       CASE WHEN max(f.currency) IS NOT NULL
            THEN coalesce(sum(h.units * {_AT_ASK}), 0) END AS payout_at_lowest_ask,
       CASE WHEN max(f.currency) IS NOT NULL
            THEN coalesce(sum(h.units_costed * {_AT_ASK} - h.cost)
                          FILTER (WHERE m.lowest_ask IS NOT NULL), 0) END
           AS unrealised_profit_at_ask,
       coalesce(sum(h.units) FILTER (WHERE m.highest_bid IS NOT NULL), 0)::bigint
           AS units_at_bid,
       coalesce(sum(h.units * m.highest_bid), 0) AS value_at_highest_bid,
       CASE WHEN max(f.currency) IS NOT NULL
            THEN coalesce(sum(h.units * {_AT_BID}), 0) END AS payout_at_highest_bid,
       CASE WHEN max(f.currency) IS NOT NULL
            THEN coalesce(sum(h.units_costed * {_AT_BID} - h.cost)
                          FILTER (WHERE m.highest_bid IS NOT NULL), 0) END
           AS unrealised_profit_at_bid
FROM ({{held}}) h
LEFT JOIN market_latest m ON m.variant_id = h.variant_id AND m.currency = h.currency
LEFT JOIN json_to_recordset({{fees}}::text::json) AS f (
    currency text, rate numeric, processing numeric, minimum numeric, shipping numeric,
    bonus numeric) ON f.currency = h.currency
WHERE h.units > 0
GROUP BY 1
ORDER BY 1
"""  # noqa: S608 - constant SQL
# $1 currency, $2 fees; from the summary (migration 0016) when no purchase window narrows.
MARKET_SQL = _MARKET_SQL.format(
    held="SELECT * FROM held_by_variant WHERE $1::text IS NULL OR currency = $1", fees="$2"
)
# $1 currency, $2 from, $3 to, $4 held statuses, $5 fees: the same over the window's units.
MARKET_WINDOW_SQL = _MARKET_SQL.format(
    held="""SELECT variant_id, currency, count(*) AS units,
                   count(*) FILTER (WHERE NOT cost_missing AND landed_cost IS NOT NULL)
                       AS units_costed,
                   coalesce(sum(landed_cost) FILTER (WHERE NOT cost_missing), 0) AS cost
            FROM stock_item
            WHERE status = ANY($4::text[]) AND variant_id IS NOT NULL
              AND ($1::text IS NULL OR currency = $1)
              AND ($2::timestamptz IS NULL OR purchased_at >= $2)
              AND ($3::timestamptz IS NULL OR purchased_at < $3)
            GROUP BY 1, 2""",
    fees="$5",
)
_fees_encoder = msgspec.json.Encoder(decimal_format="string")


def market_fees(schedule: FeeSchedule) -> str:
    """The schedule's terms per currency it covers, as `_MARKET_SQL` reads them ({fees})."""
    rows = []
    for currency in sorted(schedule.minimum_fees.keys() & schedule.shipping.keys()):
        try:
            t = schedule.terms(currency)
        except InvalidInput:  # no rate for the seller level: no payout is known
            return "[]"
        rows.append(
            {"currency": currency, "rate": t.rate, "processing": t.processing_rate,
             "minimum": t.minimum_fee, "shipping": t.shipping, "bonus": t.bonus_rate}
        )  # fmt: skip
    return _fees_encoder.encode(rows).decode()


#: group_by → (summary dim, key over a summary row, key over a `sales_fact` row); constant SQL.
SALES_KEYS = {
    "day": ("period", "period::text", "day::text"),
    "week": (
        "period",
        "date_trunc('week', period)::date::text",
        "date_trunc('week', day)::date::text",
    ),
    "month": (
        "period",
        "date_trunc('month', period)::date::text",
        "date_trunc('month', day)::date::text",
    ),
    "product": ("product", "key", "product_key"),
    "brand": ("brand", "key", "brand"),
    "size": ("size", "key", "size_key"),
    "supplier": ("supplier", "key", "supplier_id::text"),
}
#: The row key a grouping shows: a supplier's current name for its id (migration 0018).
SALES_LABELS = {"supplier": "(SELECT name FROM supplier WHERE id = parts.key::bigint)"}
#: Groupings whose key is finer than a month: they read day rows only.
DAY_KEYS = ("day", "week")
_FIGURES = (
    "sales, revenue, net_proceeds, landed_cost, sales_profit, cancellations, "
    "cancellation_charges, days_seconds, days_n, without_profit, sold_linked"
)
# Migration 0014's summary (0018: suppliers by id): $1 dim, $2 currency; whole months [$3, $4)
# from month rows, whole days [$5, $3) and [$4, $6) from day rows, the partial days [$7, $8)
# and [$9, $10) from the facts of single orders.
SALES_SQL = f"""
WITH parts AS (
    SELECT {{summary_key}} AS key, currency, {_FIGURES}
    FROM sales_summary
    WHERE grain = 'month' AND dim = $1 AND period >= $3 AND period < $4
      AND ($2::text IS NULL OR currency = $2)
    UNION ALL
    SELECT {{summary_key}}, currency, {_FIGURES}
    FROM sales_summary
    WHERE grain = 'day' AND dim = $1
      AND ((period >= $5 AND period < $3) OR (period >= $4 AND period < $6))
      AND ($2::text IS NULL OR currency = $2)
    UNION ALL
    SELECT {{fact_key}}, currency, {_FIGURES}
    FROM sales_fact
    WHERE ((sold_at >= $7 AND sold_at < $8) OR (sold_at >= $9 AND sold_at < $10))
      AND ($2::text IS NULL OR currency = $2)
)
SELECT {{label}} AS key, currency, sum(sales)::bigint AS sales, sum(revenue) AS revenue,
       sum(net_proceeds) AS net_proceeds, sum(landed_cost) AS landed_cost,
       sum(sales_profit) AS sales_profit, sum(cancellations)::bigint AS cancellations,
       sum(cancellation_charges) AS cancellation_charges,
       round(sum(days_seconds) / 86400 / nullif(sum(days_n), 0), 1) AS avg_days_to_sell,
       sum(without_profit)::bigint AS without_profit, sum(sold_linked)::bigint AS sold_linked
FROM parts
GROUP BY parts.key, parts.currency
HAVING sum(sales) + sum(cancellations) > 0
ORDER BY 1 NULLS LAST, 2
"""  # noqa: S608 - the interpolated parts are constant SQL
# Units held now, for the sell-through rate (sold: the report's `sold_linked`); migration
# 0020's summary.
HELD_SQL = """
SELECT coalesce(sum(units), 0) FROM held_summary
WHERE dim = 'period' AND ($1::text IS NULL OR currency = $1)
"""
# Soonest ship-by first (none: last); cursor ($2, $3) = the last row's (ship_by, order_number).
TO_SHIP_SQL = """
SELECT * FROM (
    SELECT o.order_number, o.status, (o.shipment ->> 'shipByDate')::timestamptz AS ship_by,
           o.listing_id, o.stock_item_id, o.variant_id, o.product_id, o.amount, o.currency,
           o.created_at, s.sku, s.size, s.size_type
    FROM "order" o
    LEFT JOIN stock_item s ON s.id = o.stock_item_id
    WHERE o.status = ANY($1::text[])
) due
WHERE ($2::text IS NULL
       OR (coalesce(ship_by, 'infinity'), order_number) > ($2::text::timestamptz, $3::text))
ORDER BY coalesce(ship_by, 'infinity'), order_number
LIMIT $4
"""


def raw_days(start: datetime | None, end: datetime | None, now: datetime) -> list[date]:
    """The UTC days the inventory report reads unit by unit: where `start`, `end` or an age
    bucket's boundary falls."""
    edges = [t for t in (start, end) if t is not None]
    edges += [now - timedelta(hours=h) for h in AGE_BOUNDS_H]
    return sorted({t.astimezone(UTC).date() for t in edges})


async def inventory_by_status(
    conn: Conn,
    *,
    start: datetime | None,
    end: datetime | None,
    currency: str | None,
    now: datetime,
) -> list[asyncpg.Record]:
    days = raw_days(start, end, now)
    return list(await conn.fetch(INVENTORY_BY_STATUS_SQL, start, end, currency, days))


async def inventory_aging(
    conn: Conn,
    *,
    start: datetime | None,
    end: datetime | None,
    currency: str | None,
    now: datetime,
) -> list[asyncpg.Record]:
    days = raw_days(start, end, now)
    held = list(HELD_STATUSES)
    return list(await conn.fetch(INVENTORY_AGING_SQL, start, end, currency, days, now, held))


async def inventory_market(
    conn: Conn,
    *,
    start: datetime | None,
    end: datetime | None,
    currency: str | None,
    fees: FeeSchedule,
) -> list[asyncpg.Record]:
    terms = market_fees(fees)
    if start is None and end is None:
        return list(await conn.fetch(MARKET_SQL, currency, terms))
    held = list(HELD_STATUSES)
    return list(await conn.fetch(MARKET_WINDOW_SQL, currency, start, end, held, terms))


@dataclass(frozen=True, slots=True)
class Tiers:
    """How a window [start, end) splits: whole months [m0, m1), whole days [d0, m0) and
    [m1, d1), and partial days [start, t0) and [t1, end) read order by order."""

    m0: date
    m1: date
    d0: date
    d1: date
    t0: datetime
    t1: datetime


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _first_whole_day(start: datetime) -> date:
    first = start.astimezone(UTC)
    return first.date() if first == _midnight(first.date()) else first.date() + timedelta(days=1)


def day_tiers(
    start: datetime | None, end: datetime | None
) -> tuple[date | None, date | None, datetime | None, datetime | None]:
    """A window open at either end split into whole UTC days [d0, d1) (None: open) and the
    partial days [start, t0) and [t1, end), read row by row (None: no partial day)."""
    if start is not None and end is not None:
        t = tiers_of(start, end, months=False)
        return t.d0, t.d1, t.t0, t.t1
    d0 = _first_whole_day(start) if start is not None else None
    d1 = end.astimezone(UTC).date() if end is not None else None
    t0 = _midnight(d0) if d0 is not None else None
    t1 = _midnight(d1) if d1 is not None else None
    return d0, d1, t0, t1


def tiers_of(start: datetime, end: datetime, *, months: bool) -> Tiers:
    """The tiers of a UTC window (`months=False`: no month rows, for day and week keys)."""
    d0, d1 = _first_whole_day(start), end.astimezone(UTC).date()
    if d0 >= d1:  # no whole day: every order of the window is read alone
        return Tiers(d0, d0, d0, d0, end, end)
    m0 = d0 if d0.day == 1 else _next_month(d0)
    m1 = d1.replace(day=1)
    if not months or m0 >= m1:
        m0 = m1 = d1
    return Tiers(m0, m1, d0, d1, _midnight(d0), _midnight(d1))


async def sales_report(
    conn: Conn, *, group_by: str, start: datetime, end: datetime, currency: str | None
) -> list[asyncpg.Record]:
    dim, summary_key, fact_key = SALES_KEYS[group_by]
    t = tiers_of(start, end, months=group_by not in DAY_KEYS)
    label = SALES_LABELS.get(group_by, "parts.key")
    sql = SALES_SQL.format(summary_key=summary_key, fact_key=fact_key, label=label)
    return list(
        await conn.fetch(sql, dim, currency, t.m0, t.m1, t.d0, t.d1, start, t.t0, t.t1, end)
    )


async def held_units(conn: Conn, *, currency: str | None) -> int:
    return int(await conn.fetchval(HELD_SQL, currency))


#: Units held now (IN_STOCK, LISTED) per (sales key, currency) of a grouping, for each row's
#: sell-through; $1 currency. Periods (every held unit of the currency, key NULL), size and
#: supplier from migration 0020's `held_summary`, keyed as the sales summary keys them (the
#: unit's size type and size; its supplier's id, shown as the supplier's name). Product and
#: brand: a unit's variant's product in the catalog copy (`held_by_variant`, 0016).
HELD_BY_KEY_SQL = {
    "period": """SELECT NULL::text AS key, currency, units AS held FROM held_summary
                  WHERE dim = 'period' AND ($1::text IS NULL OR currency = $1)""",
    "product": """SELECT cv.stockx_product_id AS key, h.currency, sum(h.units)::bigint AS held
                  FROM held_by_variant h
                  JOIN catalog_variant cv ON cv.stockx_variant_id = h.variant_id
                  WHERE $1::text IS NULL OR h.currency = $1 GROUP BY 1, 2""",
    "brand": """SELECT cp.brand AS key, h.currency, sum(h.units)::bigint AS held
                FROM held_by_variant h
                JOIN catalog_variant cv ON cv.stockx_variant_id = h.variant_id
                JOIN catalog_product cp ON cp.stockx_product_id = cv.stockx_product_id
                WHERE $1::text IS NULL OR h.currency = $1 GROUP BY 1, 2""",
    "size": """SELECT key, currency, units AS held FROM held_summary
                WHERE dim = 'size' AND ($1::text IS NULL OR currency = $1)""",
    "supplier": """SELECT p.name AS key, h.currency, h.units AS held
                    FROM held_summary h LEFT JOIN supplier p ON p.id = h.key::bigint
                    WHERE h.dim = 'supplier' AND ($1::text IS NULL OR h.currency = $1)""",
}
assert HELD_STATUSES == ("IN_STOCK", "LISTED"), "HELD_BY_KEY_SQL names the held statuses"


async def held_by_key(
    conn: Conn, *, group_by: str, currency: str | None
) -> dict[tuple[str | None, str], int]:
    """Units held now per (row key, currency) of `group_by` (periods: key None)."""
    dim = SALES_KEYS[group_by][0]
    rows = await conn.fetch(HELD_BY_KEY_SQL[dim], currency)
    return {(r["key"], r["currency"]): int(r["held"]) for r in rows}


async def orders_to_ship(
    conn: Conn, *, after: tuple[str, str] | None, limit: int
) -> list[asyncpg.Record]:
    after_at, after_number = after if after else (None, None)
    return list(
        await conn.fetch(TO_SHIP_SQL, list(TO_SHIP_STATUSES), after_at, after_number, limit)
    )


# ACTIVE listings asking more than (1 + $1/100) x their variant's latest lowest ask in the same
# currency (`market_latest`), by listing id after the cursor $2.
OVERPRICED_SQL = """
SELECT l.listing_id, l.status, l.variant_id, l.product_id, l.stock_item_id, l.currency,
       l.amount, m.lowest_ask, round((l.amount / m.lowest_ask - 1) * 100, 2) AS above_pct,
       m.observed_at AS market_observed_at
FROM listing l
JOIN market_latest m ON m.variant_id = l.variant_id AND m.currency = l.currency
WHERE l.status = 'ACTIVE' AND m.lowest_ask > 0
  AND l.amount > m.lowest_ask * (1 + $1::numeric / 100)
  AND ($2::text IS NULL OR l.listing_id > $2)
ORDER BY l.listing_id
LIMIT $3
"""


async def overpriced_listings(
    conn: Conn, *, above_pct: Decimal, after: str | None, limit: int
) -> list[asyncpg.Record]:
    return list(await conn.fetch(OVERPRICED_SQL, above_pct, after, limit))
