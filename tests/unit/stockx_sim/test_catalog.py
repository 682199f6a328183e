"""Pure catalog logic: size charts, GTINs, style ids, determinism, fuzzy search, payouts."""

from __future__ import annotations

import random

from soleflip.stockx_sim.catalog import build_catalog, gtin_check_digit
from soleflip.stockx_sim.fees import payout
from soleflip.stockx_sim.http_catalog import search_products
from soleflip.stockx_sim.settings import SimConfig
from soleflip.stockx_sim.sizes import size_rows
from soleflip.stockx_sim.world import World


def _row(family: str, value: str) -> dict[str, str]:
    row = next(r for r in size_rows(family, women=False) if r.value == value)
    return {kind: label for label, kind in row.conversions}


def test_nike_uk6_labels_repeat_and_carry_the_eu_size() -> None:
    assert _row("nike", "6.5")["uk"] == "UK 6 (EU 39)"
    assert _row("nike", "7")["uk"] == "UK 6 (EU 40)"
    assert _row("nike", "10.5") == {
        "us m": "US M 10.5",
        "us w": "US W 12",
        "uk": "UK 9.5",
        "cm": "CM 28.5",
        "kr": "KR 285",
        "eu": "EU 44.5",
    }


def test_other_brands_follow_their_own_uk_offsets() -> None:
    assert _row("adidas", "10")["uk"] == "UK 9.5"
    assert _row("adidas", "9")["eu"] == "EU 42 2/3"
    assert _row("nb", "10")["uk"] == "UK 9.5"
    assert _row("asics", "10")["uk"] == "UK 9"


def test_variant_default_size_is_bare_and_women_use_us_w() -> None:
    women = size_rows("nike", women=True)
    assert women[0].default_type == "us w"
    assert women[0].value == "5"


def test_same_seed_builds_the_same_catalog() -> None:
    first = build_catalog(random.Random(5), 30)
    again = build_catalog(random.Random(5), 30)
    other = build_catalog(random.Random(6), 30)
    assert [(p.product_id, p.style_id, [v.variant_id for v in p.variants]) for p in first] == [
        (p.product_id, p.style_id, [v.variant_id for v in p.variants]) for p in again
    ]
    assert [p.product_id for p in first] != [p.product_id for p in other]


def test_catalog_has_combined_codes_missing_gtins_and_valid_check_digits() -> None:
    products = build_catalog(random.Random(1), 40)
    combined = next(p for p in products if p.style_id == "315122-111/CW2288-111")
    assert combined.style_codes == ["315122-111", "CW2288-111"]
    variants = [v for p in products for v in p.variants]
    assert any(not v.gtins for v in variants)
    for gtin, _ in (g for v in variants for g in v.gtins):
        assert gtin[-1] == gtin_check_digit(gtin[:-1])


def test_search_is_fuzzy_but_puts_the_exact_style_id_first() -> None:
    world = World(SimConfig())
    world.reset_catalog(3, 25)
    found = [p.style_id for p in search_products(world, "DD1391-100")]
    assert found[0] == "DD1391-100"
    assert "DD1391-103" in found  # the near miss a client must filter out
    assert search_products(world, "CW2288-111")[0].style_id == "315122-111/CW2288-111"


def test_payout_follows_the_domain_fee_formula() -> None:
    eur = payout("102", "EUR")
    assert eur["totalPayout"] == "79.76"
    assert eur["totalAdjustments"] == "-22.24"
    assert [a["amount"] for a in eur["adjustments"]] == ["-9.18", "-3.06", "-10.00"]
    cheap = payout("40", "EUR")  # the EUR 5 minimum beats 9 % of 40
    assert cheap["adjustments"][0]["amount"] == "-5.00"
