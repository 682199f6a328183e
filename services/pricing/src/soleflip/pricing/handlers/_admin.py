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

from soleflip.common.contracts import new_event
from soleflip.common.contracts.bounds import amount_problem, field_of
from soleflip.common.contracts.pricing import FEES_UPDATED, PublishedFeeSchedule
from soleflip.common.db import Conn, enqueue
from soleflip.common.errors import Conflict, InvalidInput, NotFound
from soleflip.pricing import queries, repository
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
from soleflip.pricing.handlers._reprice import SOURCE, reevaluate

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


async def create_rule(fields: dict[str, Any], *, conn: Conn, now: datetime) -> Rule:
    rule = _check(_convert({**fields, "id": str(uuid.uuid4())}))
    await repository.insert_rule(conn, uuid.UUID(rule.id), rule.priority, _body(rule))
    await reevaluate(conn=conn, now=now)
    return rule


async def update_rule(rule_id: str, changes: dict[str, Any], *, conn: Conn, now: datetime) -> Rule:
    found = await queries.load_rule(conn, _rule_uuid(rule_id))
    if found is None:
        raise NotFound(f"no rule {rule_id}")
    stored, version = found
    rule = _check(_convert({**_body(stored), **changes, "id": stored.id}))
    if not await repository.update_rule(
        conn, uuid.UUID(rule.id), rule.priority, _body(rule), version
    ):
        raise Conflict(f"rule {rule_id} changed concurrently; retry")
    await reevaluate(conn=conn, now=now)
    return rule


async def delete_rule(rule_id: str, *, conn: Conn, now: datetime) -> None:
    if not await repository.delete_rule(conn, _rule_uuid(rule_id)):
        raise NotFound(f"no rule {rule_id}")
    await reevaluate(conn=conn, now=now)


async def set_fees(schedule: FeeSchedule, *, conn: Conn, now: datetime) -> FeeSchedule:
    """Store a schedule, publish it (`pricing.fees.updated`: orders keeps a copy), re-evaluate."""
    schedule.rate()  # an unknown seller level is refused before it is stored
    body = msgspec.json.decode(_encoder.encode(schedule))
    schedule_id = await repository.insert_fees(conn, schedule.effective_from, body)
    published = PublishedFeeSchedule(schedule_id=schedule_id, schedule=schedule)
    await enqueue(conn, FEES_UPDATED, new_event(FEES_UPDATED, published, source=SOURCE))
    await reevaluate(conn=conn, now=now)
    return schedule


async def set_autoreprice(switch: AutoReprice, *, conn: Conn, now: datetime) -> AutoReprice:
    """Flip the global switch; switching on also lifts halts (an operator's explicit decision)."""
    await repository.set_autoreprice(conn, switch.enabled, switch.dry_run)
    if switch.enabled:
        await repository.clear_halts(conn)
    await reevaluate(conn=conn, now=now)
    return switch


async def quote_variant(
    variant_id: str, cost: Decimal, currency: str, margin: Decimal, *, conn: Conn, now: datetime
) -> Quote:
    """Floor and strategy prices from the latest market of `variant_id` in `currency`."""
    terms = schedule_at(await queries.load_fee_schedules(conn), now).terms(currency)
    markets = await queries.latest_markets(conn, [(variant_id, currency)])
    market = markets.get((variant_id, currency), Market())
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


def fee_schedule_from(fields: dict[str, Any], *, now: datetime) -> FeeSchedule:
    """A schedule from a request body; without `effective_from` it applies from now."""
    try:
        schedule = msgspec.convert({"effective_from": now, **fields}, FeeSchedule, strict=False)
    except msgspec.ValidationError as exc:
        # The schedule's own bounds (soleflip.common.fees) name the field they refuse.
        field = field_of(exc).removeprefix("$.").removeprefix("$")
        errors = [{"field": field or "body", "message": str(exc)}]
        raise InvalidInput(str(exc), errors=errors) from None
    problems = _fee_problems(schedule)
    if problems:
        raise InvalidInput(
            "the fee schedule is out of bounds",
            errors=[{"field": field, "message": message} for field, message in problems],
        )
    return schedule


_MAX_FEE_ENTRIES = 64


def _fee_problems(schedule: FeeSchedule) -> list[tuple[str, str]]:
    """Rates are finite ratios, fees storable money, tables of a sane size."""
    ratios = {"processing_rate": schedule.processing_rate, "bonus_rate": schedule.bonus_rate}
    ratios |= {f"level_rates.{k}": v for k, v in schedule.level_rates.items()}
    amounts = {f"minimum_fees.{k}": v for k, v in schedule.minimum_fees.items()}
    amounts |= {f"shipping.{k}": v for k, v in schedule.shipping.items()}
    problems = [
        (field, "must be a finite rate from 0 to 1")
        for field, value in ratios.items()
        if not (value.is_finite() and 0 <= value <= 1)
    ]
    for field, value in amounts.items():
        problem = amount_problem(value, minimum=Decimal(0))
        if problem is not None:
            problems.append((field, problem))
    tables = (schedule.level_rates, schedule.minimum_fees, schedule.shipping)
    if any(len(table) > _MAX_FEE_ENTRIES for table in tables):
        problems.append(("$", f"at most {_MAX_FEE_ENTRIES} entries per table"))
    return problems
