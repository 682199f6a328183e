"""Controllers of `/api/v1`: thin translators from HTTP to one handler or query each."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from soleflip.common.db import UnitOfWork
from soleflip.common.errors import InvalidInput, NotFound
from soleflip.common.http import BEARER_SECURITY, problem_responses, requires
from soleflip.pricing import handlers, queries
from soleflip.pricing.domain import AutoReprice, FeeSchedule, Rule, schedule_at
from soleflip.pricing.http._shapes import (
    AutoRepriceBody,
    MarketOut,
    MarketPage,
    QuoteOut,
    QuoteRequest,
    RecommendationOut,
    RecommendationPage,
    SaleOut,
    VariantMarketOut,
)
from soleflip.pricing.queries import load_autoreprice, load_fee_schedules, load_rules
from soleflip.pricing.service import PricingService

_READ, _WRITE = [requires("read")], [requires("write")]
Limit = Annotated[int, QueryParameter(ge=1, le=500)]
Service = NamedDependency[PricingService]


class _Api(Controller):
    security = BEARER_SECURITY
    guards = _READ


class QuoteController(_Api):
    """Ad-hoc quotes: what should I list this at?"""

    path = "/api/v1/quote"
    tags = ["quote"]

    @post("/", status_code=200, responses=problem_responses(401, 403, 422))
    async def create_quote(self, data: JSONBody[QuoteRequest], service: Service) -> QuoteOut:
        """Floor, payout at the floor, and one price per strategy from the latest market."""
        cost, currency = data.cost.amount, data.cost.currency
        for field, value in (("cost.amount", cost), ("min_margin_pct", data.min_margin_pct)):
            if not value.is_finite() or value < 0:
                raise InvalidInput(
                    f"{field} must be a number of at least 0",
                    errors=[{"field": field, "message": "must be at least 0"}],
                )
        async with service.pool.acquire() as conn:
            answer = await handlers.quote_variant(
                data.variant_id, cost, currency, data.min_margin_pct, conn=conn, now=service.now()
            )
        return QuoteOut.of(answer, currency)


class MarketController(_Api):
    """Market data as observed from webhooks and polls."""

    path = "/api/v1/market"
    tags = ["market"]

    @get("/{variant_id:str}", responses=problem_responses(401, 403, 404))
    async def get_market(
        self,
        variant_id: FromPath[str],
        service: Service,
        currency: FromQuery[str | None] = None,
        limit: Limit = 50,
    ) -> VariantMarketOut:
        async with service.pool.acquire() as conn:
            latest, history, sales = await queries.variant_market(conn, variant_id, currency, limit)
        if not latest and not sales:
            raise NotFound(f"no market data for variant {variant_id}")
        return VariantMarketOut(
            variant_id=variant_id,
            markets=[MarketOut.of(r) for r in latest],
            history=[MarketOut.of(r) for r in history],
            sales=[SaleOut.of(r) for r in sales],
        )

    @get("/", responses=problem_responses(401, 403))
    async def list_market(
        self, service: Service, product_id: FromQuery[str], currency: FromQuery[str | None] = None
    ) -> MarketPage:
        async with service.pool.acquire() as conn:
            rows = await queries.product_markets(conn, product_id, currency)
        return MarketPage(items=[MarketOut.of(r) for r in rows])


class RuleController(_Api):
    """Repricing rules (priority order; auto-reprice is opt-in per rule)."""

    path = "/api/v1/rules"
    tags = ["rules"]

    @get("/")
    async def list_rules(self, service: Service) -> dict[str, Any]:
        async with service.pool.acquire() as conn:
            rules = await load_rules(conn)
        return {"items": rules, "next_cursor": None}

    @post("/", guards=_WRITE, responses=problem_responses(401, 403, 422))
    async def create_rule(self, data: JSONBody[dict[str, Any]], service: Service) -> Rule:
        async with UnitOfWork(service.pool) as uow:
            rule = await handlers.create_rule(data, conn=uow.conn, now=service.now())
            await uow.commit()
        return rule

    @patch("/{rule_id:str}", guards=_WRITE, responses=problem_responses(401, 403, 404, 409, 422))
    async def update_rule(
        self, rule_id: FromPath[str], data: JSONBody[dict[str, Any]], service: Service
    ) -> Rule:
        async with UnitOfWork(service.pool) as uow:
            rule = await handlers.update_rule(rule_id, data, conn=uow.conn, now=service.now())
            await uow.commit()
        return rule

    @delete("/{rule_id:str}", guards=_WRITE, responses=problem_responses(401, 403, 404))
    async def delete_rule(self, rule_id: FromPath[str], service: Service) -> None:
        async with UnitOfWork(service.pool) as uow:
            await handlers.delete_rule(rule_id, conn=uow.conn, now=service.now())
            await uow.commit()


class FeeController(_Api):
    """The fee schedule: the one in force and every one given, by effective date."""

    path = "/api/v1/fees"
    tags = ["fees"]

    @get("/")
    async def get_fees(self, service: Service) -> dict[str, Any]:
        async with service.pool.acquire() as conn:
            schedules = await load_fee_schedules(conn)
        return {"current": schedule_at(schedules, service.now()), "schedules": schedules}

    @put("/", guards=_WRITE, responses=problem_responses(401, 403, 422))
    async def put_fees(self, data: JSONBody[dict[str, Any]], service: Service) -> FeeSchedule:
        """A new schedule, in force from `effective_from` (default: now)."""
        schedule = handlers.fee_schedule_from(data, now=service.now())
        async with UnitOfWork(service.pool) as uow:
            await handlers.set_fees(schedule, conn=uow.conn, now=service.now())
            await uow.commit()
        return schedule


class RecommendationController(_Api):
    """Recommendations, newest first, filtered by listing, variant or status."""

    path = "/api/v1/recommendations"
    tags = ["recommendations"]

    @get("/", responses=problem_responses(401, 403, 422))
    async def list_recommendations(
        self,
        service: Service,
        listing_id: FromQuery[str | None] = None,
        variant_id: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        limit: Limit = 100,
        cursor: FromQuery[str | None] = None,
    ) -> RecommendationPage:
        after_time, after_id = _cursor(cursor)
        async with service.pool.acquire() as conn:
            rows = await queries.recommendations(
                conn,
                listing_id=listing_id,
                variant_id=variant_id,
                status=status,
                after=(after_time, after_id),
                limit=limit + 1,
            )
        items = [RecommendationOut.of(r) for r in rows[:limit]]
        more = len(rows) > limit
        return RecommendationPage(
            items=items,
            next_cursor=f"{items[-1].created_at.isoformat()}~{items[-1].id}" if more else None,
        )


class AutoRepriceController(_Api):
    """The global auto-reprice switch (off by default)."""

    path = "/api/v1/autoreprice"
    tags = ["autoreprice"]

    @get("/")
    async def get_autoreprice(self, service: Service) -> AutoReprice:
        async with service.pool.acquire() as conn:
            return await load_autoreprice(conn)

    @put("/", guards=_WRITE)
    async def put_autoreprice(
        self, data: JSONBody[AutoRepriceBody], service: Service
    ) -> AutoReprice:
        switch = AutoReprice(enabled=data.enabled, dry_run=data.dry_run)
        async with UnitOfWork(service.pool) as uow:
            await handlers.set_autoreprice(switch, conn=uow.conn, now=service.now())
            await uow.commit()
        return switch


def _cursor(cursor: str | None) -> tuple[datetime | None, str | None]:
    if not cursor:
        return None, None
    try:
        when, _, rec_id = cursor.partition("~")
        return datetime.fromisoformat(when), rec_id
    except ValueError:
        raise InvalidInput(
            "malformed cursor", errors=[{"field": "cursor", "message": "malformed"}]
        ) from None


CONTROLLERS = [
    QuoteController,
    MarketController,
    RuleController,
    FeeController,
    RecommendationController,
    AutoRepriceController,
]
