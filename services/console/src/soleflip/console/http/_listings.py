"""*Listings*: active listings with the latest recommendation and its reason, applying one or
several recommendations (a PATCH of each listing's price), and the auto-reprice switch."""

from __future__ import annotations

import asyncio
from typing import Any

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


class ListingsController(Controller):
    path = "/listings"
    include_in_schema = False

    @get("/")
    async def listings(self, request: AnyRequest, service: Service) -> Template:
        session = session_of(request, service)
        query = {k: request.query_params.get(k, "").strip() for k in ("status", "cursor")}
        params = {"status": query["status"] or "ACTIVE", "cursor": query["cursor"]}
        listings, recommendations, auto = await asyncio.gather(
            attempt(
                service.backends.get(
                    "orders", "/api/v1/listings", **params, limit=service.options.page_size
                )
            ),
            attempt(service.backends.get("pricing", "/api/v1/recommendations", limit=500)),
            attempt(service.backends.get("pricing", "/api/v1/autoreprice")),
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
