"""The console's rules without I/O: sessions and CSRF, redirects, money, Today's figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from cryptography.fernet import Fernet

from soleflip.common.http import hash_token
from soleflip.common.settings import ApiToken
from soleflip.console.filters import money
from soleflip.console.http._auth import _next_of
from soleflip.console.http._common import flash_path
from soleflip.console.http._today import chart, inventory_value, profits
from soleflip.console.session import Sessions, csrf_matches

KEY = Fernet.generate_key().decode()
READER = ApiToken(name="reader", scopes=frozenset({"read"}), sha256=hash_token("r-secret"))
WRITER = ApiToken(name="writer", scopes=frozenset({"write"}), sha256=hash_token("w-secret"))


def test_a_session_names_its_token_and_its_scopes_come_from_the_configuration_now() -> None:
    sessions = Sessions((READER, WRITER), (KEY,), ttl_s=60)
    assert sessions.sign_in("wrong") is None
    signed = sessions.sign_in("w-secret")
    assert signed is not None
    session, cookie = signed
    assert session.can_write
    assert session.name == "writer"
    assert "w-secret" not in cookie
    assert hash_token("w-secret") not in cookie
    assert sessions.read(cookie) == session
    # The token re-scoped to read: the same cookie may only read; removed: signed out.
    narrowed = ApiToken(name="writer", scopes=frozenset({"read"}), sha256=WRITER.sha256)
    read_now = Sessions((READER, narrowed), (KEY,), ttl_s=60).read(cookie)
    assert read_now is not None
    assert not read_now.can_write
    assert Sessions((READER,), (KEY,), ttl_s=60).read(cookie) is None
    # Another deployment's key, a tampered cookie, an expired one: no session.
    assert Sessions((WRITER,), (Fernet.generate_key().decode(),), ttl_s=60).read(cookie) is None
    assert sessions.read(cookie[:-4] + "AAAA") is None
    assert Sessions((WRITER,), (KEY,), ttl_s=60).read("") is None


def test_a_session_expires_after_its_ttl() -> None:
    sessions = Sessions((WRITER,), (KEY,), ttl_s=1)
    signed = sessions.sign_in("w-secret")
    assert signed is not None
    token = Fernet(KEY.encode())
    raw = token.decrypt(signed[1].encode())
    old = token.encrypt_at_time(raw, current_time=1_000).decode()
    assert sessions.read(old) is None


def test_csrf_tokens_must_match_exactly() -> None:
    signed = Sessions((WRITER,), (KEY,), ttl_s=60).sign_in("w-secret")
    assert signed is not None
    session = signed[0]
    assert csrf_matches(session, session.csrf)
    assert not csrf_matches(session, None)
    assert not csrf_matches(session, "")
    assert not csrf_matches(session, session.csrf + "x")


def test_sign_in_only_returns_to_a_path_of_the_console() -> None:
    assert _next_of("/orders?status=CREATED") == "/orders?status=CREATED"
    for outside in ("https://evil.example/", "//evil.example/", "/\\evil.example", None, ""):
        assert _next_of(outside) == "/"


def test_a_flash_message_goes_before_the_anchor() -> None:
    assert flash_path("/listings#rules", "Rule added") == "/listings?ok=Rule%20added#rules"
    assert flash_path("/inventory?status=LISTED", "x", "problem") == (
        "/inventory?status=LISTED&problem=x"
    )


def test_every_amount_carries_its_currency() -> None:
    assert money({"amount": "1234.5", "currency": "EUR"}) == "EUR 1,234.50"
    assert money(Decimal("-3"), "USD") == "USD -3.00"
    assert money(None) == "—"


def test_profit_of_this_week_and_month_per_currency_and_a_bar_per_day() -> None:
    today = date(2026, 12, 2)  # a Wednesday: the week began on Monday 30 November
    rows = [
        {"key": "2026-11-29", "currency": "EUR", "profit": "10.00", "sales": 1},
        {"key": "2026-11-30", "currency": "EUR", "profit": "20.00", "sales": 2},
        {"key": "2026-12-01", "currency": "EUR", "profit": "-5.00", "sales": 1},
        {"key": "2026-12-02", "currency": "USD", "profit": "7.00", "sales": 1},
    ]
    totals, charts = profits(rows, today)
    eur, usd = totals
    assert (eur.currency, eur.week, eur.week_sales) == ("EUR", Decimal("15.00"), 3)
    assert (eur.month, eur.month_sales) == (Decimal("-5.00"), 1)
    assert (usd.week, usd.month) == (Decimal("7.00"), Decimal("7.00"))
    assert [c.currency for c in charts] == ["EUR", "USD"]
    bars = charts[0].bars
    assert len(bars) == 30
    assert bars[-1].day == "2026-12-02"
    assert [b.kind for b in bars[-4:]] == ["pos", "pos", "neg", "zero"]
    # The zero line sits where 20 up and 5 down put it, in a 100-high box.
    assert chart("EUR", {"2026-12-01": Decimal(20), "2026-12-02": Decimal(-5)}, today).axis_y == 80


def test_inventory_value_counts_held_units_at_landed_cost() -> None:
    report = {
        "by_status": [
            {
                "status": "IN_STOCK",
                "currency": "EUR",
                "units": 2,
                "value": "170.00",
                "cost_missing": 0,
            },
            {
                "status": "LISTED",
                "currency": "EUR",
                "units": 1,
                "value": "90.00",
                "cost_missing": 1,
            },
            {"status": "SOLD", "currency": "EUR", "units": 5, "value": "400.00", "cost_missing": 0},
        ]
    }
    assert inventory_value(report) == [
        {"currency": "EUR", "units": 3, "value": Decimal("260.00"), "cost_missing": 1}
    ]


def test_the_inventory_section_shows_value_at_cost_and_at_market_with_currencies() -> None:
    from soleflip.console.app import templates
    from soleflip.console.backends import Outcome

    engine = templates().instance
    assert engine is not None
    held = [{"currency": "EUR", "units": 2, "value": Decimal("170.00"), "cost_missing": 0}]
    market = [
        {
            "currency": "EUR", "units": 2, "units_at_ask": 2, "value_at_lowest_ask": "300.00",
            "unrealised_profit_at_ask": "130.00", "units_at_bid": 1,
            "value_at_highest_bid": "120.00", "unrealised_profit_at_bid": "35.00",
        }
    ]  # fmt: skip
    html = engine.get_template("today_fragment.html").render(
        section="inventory", inventory=Outcome(value=held), market=market
    )
    assert "EUR 170.00" in html
    assert "EUR 300.00" in html
    assert "EUR 130.00 over cost" in html
    assert "EUR 120.00" in html
    failed = engine.get_template("today_fragment.html").render(
        section="inventory", inventory=Outcome(error="orders: is unreachable; is it running?")
    )
    assert 'role="alert">orders: is unreachable; is it running?' in failed
