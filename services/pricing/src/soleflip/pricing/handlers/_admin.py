"""Commands from the REST edge: rules, fee schedules, the auto-reprice switch, and quotes.

A change to rules, fees or the switch re-evaluates every active listing in the same
transaction, so recommendations never lag behind the configuration that produced them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from soleflip.common.db import Conn
from soleflip.common.errors import Conflict, InvalidInput, NotFound
from soleflip.pricing import repository
from soleflip.pricing.domain import (
    AutoReprice,
    FeeSchedule,
    Market,
    Quote,
    Rule,
    quote,
    rule_problems,
    schedule_at,
)
from soleflip.pricing.handlers._reprice import reevaluate
from soleflip.pricing.queries import (
    LATEST_MARKETS_SQL,
    RULE_SQL,
    load_fee_schedules,
    rule_from_row,
)

_encoder = msgspec.json.Encoder(decimal_format="string")


def _check(rule: Rule) -> Rule:
    problems = rule_problems(rule)
    if problems:
        raise InvalidInput(
            "the rule is not usable",
            errors=[{"field": field, "message": message} for field, message in problems],
        )
    return rule


def _body(rule: Rule) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.json.decode(_encoder.encode(rule))
    body.pop("id", None)
    return body


async def create_rule(conn: Conn, fields: dict[str, Any], now: datetime) -> Rule:
    rule = _check(_convert({**fields, "id": str(uuid.uuid4())}))
    await conn.execute(repository.INSERT_RULE_SQL, uuid.UUID(rule.id), rule.priority, _body(rule))
    await reevaluate(conn, now)
    return rule


async def update_rule(conn: Conn, rule_id: str, changes: dict[str, Any], now: datetime) -> Rule:
    row = await conn.fetchrow(RULE_SQL, _rule_uuid(rule_id))
    if row is None:
        raise NotFound(f"no rule {rule_id}")
    rule = _check(_convert({**_body(rule_from_row(row)), **changes, "id": row["id"]}))
    version = await conn.fetchval(
        repository.UPDATE_RULE_SQL, uuid.UUID(rule.id), rule.priority, _body(rule), row["version"]
    )
    if version is None:
        raise Conflict(f"rule {rule_id} changed concurrently; retry")
    await reevaluate(conn, now)
    return rule


async def delete_rule(conn: Conn, rule_id: str, now: datetime) -> None:
    if await conn.fetchval(repository.DELETE_RULE_SQL, _rule_uuid(rule_id)) is None:
        raise NotFound(f"no rule {rule_id}")
    await reevaluate(conn, now)


async def set_fees(conn: Conn, schedule: FeeSchedule, now: datetime) -> FeeSchedule:
    schedule.rate()  # an unknown seller level is refused before it is stored
    body = msgspec.json.decode(_encoder.encode(schedule))
    await conn.execute(repository.INSERT_FEES_SQL, schedule.effective_from, body)
    await reevaluate(conn, now)
    return schedule


async def set_autoreprice(conn: Conn, switch: AutoReprice, now: datetime) -> AutoReprice:
    """Flip the global switch; switching on also lifts halts (an operator's explicit decision)."""
    await conn.execute(repository.SET_AUTOREPRICE_SQL, switch.enabled, switch.dry_run)
    if switch.enabled:
        await conn.execute(repository.CLEAR_HALTS_SQL)
    await reevaluate(conn, now)
    return switch


async def quote_variant(
    conn: Conn, variant_id: str, cost: Decimal, currency: str, margin: Decimal, now: datetime
) -> Quote:
    """Floor and strategy prices from the latest market of `variant_id` in `currency`."""
    terms = schedule_at(await load_fee_schedules(conn), now).terms(currency)
    row = await conn.fetchrow(LATEST_MARKETS_SQL, [variant_id], [currency])
    market = (
        Market()
        if row is None
        else Market(
            lowest_ask=row["lowest_ask"],
            highest_bid=row["highest_bid"],
            sell_faster=row["sell_faster"],
            earn_more=row["earn_more"],
        )
    )
    return quote(terms, cost, margin, market)


def _convert(fields: dict[str, Any]) -> Rule:
    if isinstance(fields.get("stock_item_id"), int):
        # Orders numbers its stock items; a rule keeps scope values as text.
        fields = {**fields, "stock_item_id": str(fields["stock_item_id"])}
    try:
        return msgspec.convert(fields, Rule, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput(str(exc)) from None


def _rule_uuid(rule_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(rule_id)
    except ValueError:
        raise NotFound(f"no rule {rule_id}") from None


def fee_schedule_from(fields: dict[str, Any], now: datetime) -> FeeSchedule:
    """A schedule from a request body; without `effective_from` it applies from now."""
    try:
        return msgspec.convert({"effective_from": now, **fields}, FeeSchedule, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput(str(exc)) from None
