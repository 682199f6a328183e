"""The seller console in a real browser against the whole system: sign in, record a purchase,
see it in the inventory, list it with its floor and quote, let the simulator's buyer buy it, see
the sale and its profit on *Today*, download its label, replay a dead letter; a read-only user
sees no write action and a forged write is refused; a POST without the CSRF token is refused.
Screenshots of every page at 390 px and 1,280 px go to `test-artifacts/console/`."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.sim import Sim
from tests.support.stack import READER_TOKEN, WRITER_TOKEN, Stack

pytestmark = pytest.mark.timeout(600)
T = TypeVar("T")
WIDTHS = {"phone": 390, "laptop": 1280}
PAGES = ("/", "/inventory", "/listings", "/orders", "/catalog", "/operations")


def wait_for(check: Callable[[], T | None], within: float = 60, what: str = "it") -> T:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within:g} s")
        time.sleep(0.25)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        yield made
    finally:
        made.close()


def sign_in(page: Page, stack: Stack, token: str) -> None:
    page.goto(f"{stack.urls['console']}/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("^Today"))).to_be_visible()


def shoot(page: Page, artifacts: Path, name: str) -> None:
    expect(page.locator("[aria-busy='true']")).to_have_count(0)  # Today's sections have loaded
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"{name}-{label}.png"), full_page=True)
        # Nothing wider than the screen: the page never scrolls sideways (tables scroll inside).
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{name} is {wide} px wide at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def api(stack: Stack, service: str) -> httpx.Client:
    return httpx.Client(
        base_url=stack.urls[service],
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=30,
    )


def poison(stack: Stack) -> None:
    """An order event no consumer can decode: orders dead-letters it at once."""

    async def publish() -> None:
        nc = await nats.connect(stack.nats_url)
        try:
            subject = stack.names.subject("ingest.stockx.order.updated")
            await nc.jetstream().publish(subject, b"{not json", headers={"Nats-Msg-Id": "bad-1"})
        finally:
            await nc.drain()

    # In a thread: Playwright's sync API keeps an event loop running in this one.
    worker = threading.Thread(target=asyncio.run, args=(publish(),))
    worker.start()
    worker.join(timeout=30)


def test_a_seller_runs_the_day_from_the_console(
    stack: Stack, context: BrowserContext, artifacts: Path
) -> None:
    page = context.new_page()
    console = stack.urls["console"]
    sign_in(page, stack, WRITER_TOKEN)

    # record a purchase of a product the simulator sells
    product = Sim(stack.sim_url).products()[2]
    variant = product["variants"][5]
    page.get_by_role("navigation").get_by_role("link", name="Inventory").click()
    form = page.locator("form[action='/inventory'][method='post']")
    form.get_by_label("SKU (style id)").fill(product["styleId"])
    form.get_by_label("Size", exact=True).fill(variant["variantValue"])
    form.get_by_label("Price paid per unit").fill("80.00")
    form.get_by_label("VAT % inside").fill("19")
    form.get_by_label("Shipping to you").fill("5.00")
    form.get_by_label("Supplier").fill("Console test")
    form.get_by_role("button", name="Record purchase").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded 1 unit(s)")
    unit_id = re.search(r"#(\d+)", page.get_by_role("status").inner_text()).group(1)  # type: ignore[union-attr]

    # it is in the inventory, with its landed cost in its currency
    row = page.locator(f"tr[data-unit='{unit_id}']")
    expect(row).to_contain_text(product["styleId"])
    expect(row).to_contain_text("EUR 85.00")
    shoot(page, artifacts, "inventory")

    # list it: the floor and quote first, then confirm
    row.get_by_role("link", name=f"#{unit_id}").click()

    def resolved() -> bool:
        page.reload()
        return page.get_by_role("button", name="Show floor and quote").count() > 0

    try:
        wait_for(resolved, what="the unit's variant resolving")
    except AssertionError:
        with api(stack, "orders") as orders:
            raise AssertionError(orders.get(f"/api/v1/stock/{unit_id}").text) from None
    # edit: a note and the shelf it is on land in the unit's record
    edit = page.locator("form[action$='/edit']")
    edit.get_by_label("Location").fill("shelf B2")
    edit.get_by_label("Notes").fill("box slightly dented")
    edit.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.locator("main")).to_contain_text("shelf B2")
    expect(page.locator("main")).to_contain_text("box slightly dented")
    page.get_by_role("button", name="Show floor and quote").click()
    expect(page.locator("[data-quote='floor']")).to_contain_text("EUR ")
    shoot(page, artifacts, "unit-quote")
    page.get_by_label(re.compile("^Ask")).fill("200")
    page.get_by_role("button", name="Confirm: list on StockX").click()
    expect(page.get_by_role("status")).to_contain_text("Listed on StockX")

    # the simulator's buyer buys it; orders syncs
    with api(stack, "orders") as orders:
        listing_id = wait_for(
            lambda: orders.get(f"/api/v1/stock/{unit_id}").json().get("listing_id"),
            what="the listing",
        )
        wait_for(
            lambda: orders.get(f"/api/v1/listings/{listing_id}").json()["status"] == "ACTIVE",
            what="the listing going active",
        )
        sale = httpx.post(
            f"{stack.sim_url}/_sim/orders", json={"listing_id": listing_id, "fate": "happy"}
        ).json()
        order_number = sale["orderNumber"]
        # the seller does not wait for the next poll: Operations -> Sync now
        page.goto(f"{console}/operations")
        page.get_by_label("What").select_option("orders")
        page.get_by_role("button", name="Sync now").click()
        expect(page.get_by_role("status")).to_contain_text("Syncing orders with StockX now")

        def sold() -> bool:
            orders.post("/api/v1/sync", json={"what": "orders"})
            return orders.get(f"/api/v1/stock/{unit_id}").json()["status"] == "SOLD"

        wait_for(sold, what="the sale reaching orders")

    # Today: the sale's profit this week and month, in its currency
    page.get_by_role("navigation").get_by_role("link", name="Today").click()
    expect(page.locator("[data-kpi='profit-month-EUR']")).to_contain_text("1 sale")
    expect(page.locator("[data-kpi='profit-month-EUR']")).to_contain_text("EUR ")
    expect(page.locator("[data-kpi='need-to-ship']")).to_have_text("1")
    expect(page.locator("figure.chart svg rect.pos")).to_have_count(1)
    expect(page.locator("[data-health='orders']")).to_have_text("ok")
    expect(page.locator("[data-kpi='stockx-budget']").first).to_contain_text("of 25,000")
    # the day's calls per priority, with what each may use: orders' poll and the listing
    # (a user write) have spent some, and catalog refresh keeps a fifth in reserve
    budget = page.locator("[data-budget-priorities]").first
    expect(budget.locator("tr[data-priority='USER_WRITE']")).to_contain_text(re.compile(r"[1-9]"))
    expect(budget.locator("tr[data-priority='ORDER_SYNC']")).to_contain_text("order sync")
    expect(budget.locator("tr[data-priority='CATALOG_REFRESH']")).to_contain_text("20,000")
    shoot(page, artifacts, "today")

    # Orders: the sale with its profit breakdown; the label downloads as a PDF
    page.get_by_role("navigation").get_by_role("link", name="Orders").click()
    page.get_by_role("link", name=order_number).click()
    expect(page.locator("[data-order-profit]")).to_contain_text("EUR ")
    shoot(page, artifacts, "order")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download shipping label")).click()
    saved = artifacts / "label.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")

    # Operations: a dead letter waits; replaying it republishes it
    poison(stack)

    def letter() -> Any:
        page.goto(f"{console}/operations")
        rows = page.locator("tr[data-letter]")
        return rows.count() and rows.first.get_attribute("data-letter")

    seq = wait_for(letter, what="the dead letter showing")
    # the last run of every StockX poller, and catalog's enrichment jobs with their progress
    for kind in ("catalog.refresh", "orders", "pricing.market"):
        row = page.locator(f"tr[data-poll='{kind}']")
        expect(row).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"))
        expect(row.locator("[data-outcome]")).to_have_text(re.compile("^(ok|running|paused)"))
    with api(stack, "catalog") as catalog:
        job = catalog.post("/api/v1/products/enrich", json={"skus": [product["styleId"]]}).json()

    def job_done() -> bool:
        page.goto(f"{console}/operations")
        return "done" in page.locator(f"tr[data-job='{job['job_id']}']").inner_text()

    wait_for(job_done, what="the enrichment job finishing")
    expect(page.locator(f"tr[data-job='{job['job_id']}']")).to_contain_text("1 of 1")
    shoot(page, artifacts, "operations")
    page.get_by_role("button", name=f"Replay #{seq}").click()
    expect(page.get_by_role("status")).to_contain_text(f"#{seq} replayed")

    for path in PAGES:
        page.goto(f"{console}{path}")
        expect(page.locator("main h1")).to_be_visible()
        # The tab says which page this is, in words (no markup leaked into the title).
        expect(page).to_have_title(re.compile(r"^[A-Z][a-z]+ · SoleFlip console$"))
        shoot(page, artifacts, "page" + path.replace("/", "-"))

    # sign out: the pages ask for a sign-in again
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{console}/inventory")
    expect(page).to_have_url(re.compile(r"/sign-in"))


def test_a_read_only_user_sees_no_write_action_and_a_forged_write_is_refused(
    stack: Stack, context: BrowserContext
) -> None:
    page = context.new_page()
    console = stack.urls["console"]
    sign_in(page, stack, READER_TOKEN)
    expect(page.locator("header")).to_contain_text("read only")
    # keyboard: the first Tab reaches "Skip to content", the next ones the pages
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("navigation").get_by_role("link", name="Today")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/inventory$"))
    page.goto(f"{console}/inventory")
    expect(page.get_by_role("heading", name="Record a purchase")).to_have_count(0)
    # No page offers a form that changes something (sign-out, in the header, is the only POST).
    with api(stack, "orders") as orders:
        units = orders.get("/api/v1/stock", params={"limit": 1}).json()["items"]
    for path in (*PAGES, *(f"/inventory/{u['id']}" for u in units), "/catalog?q=DD1391"):
        page.goto(f"{console}{path}")
        expect(page.locator("[aria-busy='true']")).to_have_count(0)
        assert page.locator("main form[method='post']").count() == 0, path
        assert page.locator("main input[type='checkbox'][name='apply']").count() == 0, path
    page.goto(f"{console}/operations")
    expect(page.get_by_role("button", name=re.compile("^Replay"))).to_have_count(0)

    csrf = json.loads(page.locator("body").get_attribute("hx-headers") or "{}")["X-CSRF-Token"]
    forged = page.request.post(
        f"{console}/inventory",
        form={"_csrf": csrf, "sku": "DD1391-100", "size": "10", "unit_cost": "1", "supplier": "x"},
        max_redirects=0,
    )
    assert forged.status == 403
    assert "may only read" in forged.text()
    with api(stack, "orders") as orders:
        assert orders.get("/api/v1/stock", params={"supplier": "x"}).json()["items"] == []


def test_a_post_without_the_csrf_token_is_refused(stack: Stack, context: BrowserContext) -> None:
    page = context.new_page()
    console = stack.urls["console"]
    sign_in(page, stack, WRITER_TOKEN)
    forged = page.request.post(
        f"{console}/inventory",
        form={"sku": "DD1391-100", "size": "10", "unit_cost": "1", "supplier": "nocsrf"},
        max_redirects=0,
    )
    assert forged.status == 403
    assert "CSRF" in forged.text()
    with api(stack, "orders") as orders:
        assert orders.get("/api/v1/stock", params={"supplier": "nocsrf"}).json()["items"] == []
    # nor without a session at all (another site's form cannot carry the SameSite cookie)
    bare = httpx.post(f"{console}/operations/replay", data={"seq": "1"})
    assert bare.status_code == 403


def test_a_seller_imports_a_csv_after_a_dry_run_and_adds_a_repricing_rule(
    stack: Stack, context: BrowserContext, tmp_path: Path
) -> None:
    page = context.new_page()
    console = stack.urls["console"]
    sign_in(page, stack, WRITER_TOKEN)
    product = Sim(stack.sim_url).products()[3]
    size = product["variants"][2]["variantValue"]
    csv = tmp_path / "purchases.csv"
    csv.write_text(
        "external_id,sku,size,size_type,quantity,unit_cost,currency,purchased_at,supplier\n"
        f"csv-1,{product['styleId']},{size},us m,2,99.00,EUR,2026-11-20T10:00:00Z,CSV shop\n"
        f"csv-2,{product['styleId']},{size},us m,1,-5,EUR,2026-11-20T10:00:00Z,CSV shop\n"
    )
    page.goto(f"{console}/inventory")
    importer = page.locator("form[action='/inventory/import']")
    importer.get_by_label("CSV file").set_input_files(str(csv))
    importer.get_by_role("button", name="Import").click()
    summary = page.locator("[data-import='summary']")
    # the page streams orders' progress (a line per chunk recorded), then the result
    expect(page.locator("[data-import='progress']").last).to_contain_text("1 of 1 purchase(s) done")
    expect(summary).to_contain_text("would be recorded")
    expect(page.locator("main table")).to_contain_text("unit_cost")  # line 3 refused, named
    page.goto(f"{console}/inventory")
    importer.get_by_label("CSV file").set_input_files(str(csv))
    importer.get_by_label("dry run first").uncheck()
    importer.get_by_role("button", name="Import").click()
    expect(summary).to_contain_text("1 purchase(s) recorded (2 unit(s))")
    page.goto(f"{console}/inventory?supplier=CSV+shop")
    expect(page.locator("tr[data-unit]")).to_have_count(2)

    page.goto(f"{console}/listings")
    rules = page.locator("form[action='/listings/rules']")
    rules.get_by_label("Name").fill("beat by one")
    rules.get_by_label("Strategy").select_option("beat_lowest_ask")
    rules.get_by_label("Beat by (amount)").fill("1")
    rules.get_by_role("button", name="Add rule").click()
    expect(page.get_by_role("status")).to_contain_text("Rule beat by one added")
    row = page.locator("tr[data-rule]", has_text="beat by one")
    expect(row).to_contain_text("beat lowest ask by 1")
    row.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text("Rule deleted")
    expect(page.locator("tr[data-rule]", has_text="beat by one")).to_have_count(0)
    # a service's refusal is shown as its message, not as an error page
    rules.get_by_label("Priority").fill("99999999999")
    rules.get_by_role("button", name="Add rule").click()
    expect(page.get_by_role("alert")).to_contain_text("pricing:")


def stockx_listing(stack: Stack, variant_id: str, amount: str) -> str:
    """A listing made on StockX directly (the simulator's API, as the seller's other tools
    would), settled at once: SoleFlip holds no unit for it."""
    with httpx.Client(base_url=stack.sim_url, timeout=30) as sim:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": "sim-refresh",
            "client_id": "sim-client",
            "client_secret": "sim-secret",
            "audience": "gateway.stockx.com",
        }
        token = sim.post("/oauth/token", data=form).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "x-api-key": "sim-api-key"}
        body = {"amount": amount, "variantId": variant_id, "currencyCode": "EUR"}
        made = sim.post("/v2/selling/listings", headers=headers, json=body).json()
        sim.post("/_sim/advance", json={"seconds": 1})
    listing_id: str = made["listingId"]
    return listing_id


def test_a_seller_adopts_a_listing_sees_what_auto_reprice_would_do_and_applies_it(
    stack: Stack, context: BrowserContext
) -> None:
    page = context.new_page()
    console = stack.urls["console"]
    sign_in(page, stack, WRITER_TOKEN)
    product = Sim(stack.sim_url).products()[4]
    variant = product["variants"][3]
    listing_id = stockx_listing(stack, variant["variantId"], "300")

    # orders learns of it from its poll; the seller adopts it as a unit and enters its cost
    page.goto(f"{console}/operations")
    page.get_by_label("What").select_option("listings")
    page.get_by_role("button", name="Sync now").click()
    with api(stack, "orders") as orders:
        wait_for(
            lambda: orders.get(f"/api/v1/listings/{listing_id}").status_code == 200,
            what="the StockX listing reaching orders",
        )
        page.goto(f"{console}/inventory")
        page.get_by_role("button", name="Adopt active listings without a unit").click()
        expect(page.get_by_role("status")).to_contain_text(re.compile(r"Adopted [1-9]\d* listing"))
        unit_id = orders.get(f"/api/v1/listings/{listing_id}").json()["stock_item_id"]
        row = page.locator(f"tr[data-unit='{unit_id}']")
        expect(row).to_contain_text("cost missing")
        cost = {"unit_cost": {"amount": "90.00", "currency": "EUR"}}
        assert orders.patch(f"/api/v1/stock/{unit_id}", json=cost).status_code == 200

    # a rule, and the market moves (the simulator's relay signs it to ingest): pricing recommends
    with api(stack, "pricing") as pricing:
        rule = {"name": "beat by one", "strategy": "beat_lowest_ask", "beat_amount": "1"}
        assert pricing.post(
            "/api/v1/rules", json={**rule, "style_id": product["styleId"]}
        ).is_success
        with httpx.Client(base_url=stack.sim_url, timeout=30) as sim:
            # the stack signs StockX's and n8n's webhooks with one secret
            relay = {"url": f"{stack.urls['ingest']}/webhooks/stockx", "secret": stack.n8n_secret}
            sim.put("/_sim/relay", json=relay)
            market = {"variant_id": variant["variantId"], "currency": "EUR"}
            sim.put("/_sim/market", json={**market, "lowest_ask": 250, "highest_bid": 200})
        wait_for(
            lambda: pricing.get(
                "/api/v1/recommendations", params={"listing_id": listing_id}
            ).json()["items"],
            what="pricing recommending a price",
        )

    # Listings: the recommendation with its reason, and what auto-reprice would do, before on
    page.goto(f"{console}/listings")
    listing = page.locator(f"tr[data-listing='{listing_id}']")
    expect(listing).to_contain_text("EUR 249.00")
    expect(listing).to_contain_text("beat lowest ask")
    would = page.locator("[data-would]")
    expect(would).to_contain_text(listing_id)
    expect(would).to_contain_text(re.compile(r"EUR 300\.00 → EUR 249\.00"))
    switch = page.locator("form[action='/listings/autoreprice']")
    switch.get_by_label("enabled").check()
    switch.locator("input[name='dry_run']").check()
    switch.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Auto-reprice is on (dry run")
    expect(page.locator("section[aria-labelledby='auto-h']")).to_contain_text("Now: on (dry run)")
    switch.get_by_label("enabled").uncheck()
    switch.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Auto-reprice is off")

    # apply it by hand: orders reprices the listing at StockX
    page.get_by_label(f"apply to {listing_id}").check()
    page.get_by_role("button", name="Apply the chosen recommendations").click()
    expect(page.get_by_role("status")).to_contain_text("Repricing 1 listing(s)")
    with api(stack, "orders") as orders, httpx.Client(base_url=stack.sim_url) as sim:

        def repriced() -> bool:
            sim.post("/_sim/advance", json={"seconds": 2})
            found = orders.get(f"/api/v1/listings/{listing_id}").json()
            return Decimal(found["amount"]["amount"]) == 249

        wait_for(repriced, what="the listing repriced")

    # Catalog: the product's sizes, each with its conversions, and the market per size as
    # pricing holds it (the moved size at the asks the simulator set)
    page.goto(f"{console}/catalog?q={product['styleId']}")
    sizes = page.locator("tr[data-size]")
    expect(sizes).to_have_count(len(product["variants"]))
    moved = page.locator(f"tr[data-size='{variant['variantValue']}']")
    expect(moved.locator("td").nth(1)).not_to_be_empty()  # its size in the other systems
    with api(stack, "pricing") as pricing:
        held = pricing.get("/api/v1/market", params={"product_id": product["productId"]}).json()
    of_size = [m for m in held.get("items", []) if m["variant_id"] == variant["variantId"]]
    eur = [m for m in of_size if m["lowest_ask"]["currency"] == "EUR"]
    assert eur, of_size
    assert Decimal(eur[0]["lowest_ask"]["amount"]) == 250
    shown = of_size[-1]  # the page keys the market by variant: the last currency listed shows
    lowest = shown["lowest_ask"]
    expect(moved).to_contain_text(f"{lowest['currency']} {Decimal(lowest['amount']):,.2f}")
