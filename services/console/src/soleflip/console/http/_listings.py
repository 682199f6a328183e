"""*Listings*: active listings with the latest recommendation and its reason, applying one or
several recommendations (a PATCH of each listing's price), and the auto-reprice switch."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from litestar import Controller, get, post
from litestar.response import Redirect, Template

from soleflip.console.backends import ServiceError, attempt
from soleflip.console.http._common import (
    AnyRequest,
    Service,
    flash_path,
    page,
    see_other,
    session_of,
    writer,
)

LISTING_STATES = ("ACTIVE", "INACTIVE", "PENDING", "MATCHED", "COMPLETED", "DELETED")
STRATEGIES = ("match_lowest_ask", "beat_lowest_ask", "sell_faster", "earn_more", "fixed")
#: Recommendations a person may apply (the others were requested, held, or had no price).
APPLICABLE = ("recommended", "dry_run")
RULE_NUMBERS = ("beat_amount", "beat_pct", "fixed_price", "ceiling", "min_margin_pct", "min_change")


def rule_body(form: dict[str, str]) -> dict[str, Any]:
    """The `POST /api/v1/rules` body of the rule form (pricing checks every bound)."""
    body: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "strategy": form.get("strategy") or "match_lowest_ask",
        "auto_reprice": form.get("auto_reprice") == "on",
        "dry_run": form.get("dry_run") == "on",
    }
    for name in RULE_NUMBERS:
        if form.get(name, "").strip():
            body[name] = form[name].strip().replace(",", ".")
    for name in ("priority", "cooldown_s"):
        raw = form.get(name, "").strip()
        if raw:
            body[name] = int(raw) if raw.lstrip("-").isdigit() else raw
    for name in ("brand", "style_id"):
        if form.get(name, "").strip():
            body[name] = form[name].strip()
    return body


def would_reprice(latest: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """What auto-reprice would change now: applicable recommendations whose price differs."""
    return [
        r
        for r in latest.values()
        if r["status"] in APPLICABLE
        and (r.get("current") or {}).get("amount") != r["price"]["amount"]
    ]


class ListingsController(Controller):
    path = "/listings"
    include_in_schema = False

    @get("/")
    async def listings(self, request: AnyRequest, service: Service) -> Template:
        session = session_of(request, service)
        query = {k: request.query_params.get(k, "").strip() for k in ("status", "cursor")}
        params = {"status": query["status"] or "ACTIVE", "cursor": query["cursor"]}
        listings, recommendations, auto, rules = await asyncio.gather(
            attempt(
                service.backends.get(
                    "orders", "/api/v1/listings", **params, limit=service.options.page_size
                )
            ),
            attempt(service.backends.get("pricing", "/api/v1/recommendations", limit=500)),
            attempt(service.backends.get("pricing", "/api/v1/autoreprice")),
            attempt(service.backends.get("pricing", "/api/v1/rules")),
        )
        latest: dict[str, dict[str, Any]] = {}
        for rec in (recommendations.value or {}).get("items", []):
            latest.setdefault(rec["listing_id"], rec)  # newest first
        return page(
            request,
            "listings.html",
            session,
            active="listings",
            listings=listings,
            latest=latest,
            recommendations=recommendations,
            auto=auto,
            rules=rules,
            would=would_reprice(latest),
            applicable=APPLICABLE,
            strategies=STRATEGIES,
            query=query,
            states=LISTING_STATES,
            ok=request.query_params.get("ok"),
            problem=request.query_params.get("problem"),
        )

    @post("/apply", status_code=303)
    async def apply(self, request: AnyRequest, service: Service) -> Redirect:
        """Apply the chosen recommendations: each listing gets its recommended price."""
        await writer(request, service)
        form_all = await request.form()
        chosen = [str(v) for v in form_all.getall("apply", []) if isinstance(v, str)]
        if not chosen:
            return see_other(flash_path("/listings", "choose at least one listing", "problem"))
        done, failed = [], []
        for item in chosen[:100]:
            listing, _, price = item.partition("|")
            amount, _, currency = price.partition(" ")
            try:
                await service.backends.patch(
                    "orders",
                    f"/api/v1/listings/{listing}",
                    {"amount": {"amount": amount, "currency": currency}},
                )
                done.append(listing)
            except ServiceError as exc:
                failed.append(f"{listing}: {exc.message}")
        if failed:
            return see_other(flash_path("/listings", "; ".join(failed), "problem"))
        return see_other(flash_path("/listings", f"Repricing {len(done)} listing(s)"))

    @post("/autoreprice", status_code=303)
    async def autoreprice(self, request: AnyRequest, service: Service) -> Redirect:
        _, form = await writer(request, service)
        body = {"enabled": form.get("enabled") == "on", "dry_run": form.get("dry_run") == "on"}
        try:
            await service.backends.put("pricing", "/api/v1/autoreprice", body)
        except ServiceError as exc:
            return see_other(flash_path("/listings", exc.readable, "problem"))
        state = "on" if body["enabled"] else "off"
        dry = " (dry run: recommendations only)" if body["dry_run"] else ""
        return see_other(flash_path("/listings", f"Auto-reprice is {state}{dry}"))

    @post("/rules", status_code=303)
    async def add_rule(self, request: AnyRequest, service: Service) -> Redirect:
        _, form = await writer(request, service)
        try:
            rule = await service.backends.post("pricing", "/api/v1/rules", rule_body(form))
        except ServiceError as exc:
            return see_other(flash_path("/listings#rules", exc.readable, "problem"))
        return see_other(
            flash_path("/listings#rules", f"Rule {rule.get('name') or rule['id']} added")
        )

    @post("/rules/{rule_id:str}/delete", status_code=303)
    async def delete_rule(self, request: AnyRequest, service: Service, rule_id: str) -> Redirect:
        await writer(request, service)
        try:
            await service.backends.request("pricing", "DELETE", f"/api/v1/rules/{quote(rule_id)}")
        except ServiceError as exc:
            return see_other(flash_path("/listings#rules", exc.readable, "problem"))
        return see_other(flash_path("/listings#rules", "Rule deleted"))
