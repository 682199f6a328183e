"""Pure catalog rules: style-id normalisation and exact matching, sizes, GTINs."""

from __future__ import annotations

import pytest

from soleflip.catalog.domain import (
    AmbiguousSize,
    Candidate,
    code_keys,
    is_gtin,
    match_style_id,
    pick_variant,
    search_query,
    size_pairs,
    size_type,
    size_value,
    style_codes,
)
from soleflip.catalog.jobs import unique_skus

PANDA = Candidate("p-panda", "DD1391-100", "Dunk Low Panda")
GREY = Candidate("p-grey", "DD1391-103", "Dunk Low Grey Fog")
AF1 = Candidate("p-af1", "315122-111/CW2288-111", "Air Force 1")


@pytest.mark.parametrize(
    ("style_id", "codes"),
    [
        ("315122-111/CW2288-111", ["315122-111", "CW2288-111"]),
        (" dd1391-100 ", ["DD1391-100"]),
        ("A / B, a", ["A", "B"]),
        (None, []),
        ("", []),
    ],
)
def test_style_codes_split_combined_codes_and_normalise_case(
    style_id: str | None, codes: list[str]
) -> None:
    assert style_codes(style_id) == codes


def test_code_keys_ignore_punctuation_and_spaces_but_not_digits() -> None:
    assert code_keys("dd1391 100") == code_keys("DD1391-100") == ["DD1391100"]
    assert code_keys("DD1391-103") != code_keys("DD1391-100")


@pytest.mark.parametrize(
    ("sku", "expected"),
    [
        ("DD1391-100", "p-panda"),
        ("dd1391 100", "p-panda"),
        ("DD1391-103", "p-grey"),
        ("CW2288-111", "p-af1"),
        ("CW2288-111/315122-111", "p-af1"),
        ("DD1391-101", None),
        ("DD1391", None),
        ("315122-111/CW2288-112", None),  # one code of the pair is wrong: not this product
        ("", None),
    ],
)
def test_match_style_id_takes_only_exact_hits(sku: str, expected: str | None) -> None:
    resolution = match_style_id(sku, [GREY, PANDA, AF1])
    assert resolution.stockx_product_id == expected
    assert (resolution.status == "resolved") == (expected is not None)


def test_unresolved_match_offers_the_search_hits_as_candidates() -> None:
    resolution = match_style_id("DD1391-101", [PANDA, GREY])
    assert resolution.status == "unresolved"
    assert resolution.candidates == (PANDA, GREY)


def test_two_products_with_the_same_code_are_ambiguous_not_a_pick() -> None:
    twin = Candidate("p-twin", "DD1391-100", "Dunk Low Panda (GS)")
    resolution = match_style_id("DD1391-100", [PANDA, twin])
    assert resolution.status == "unresolved"
    assert resolution.reason == "ambiguous"
    assert {c.stockx_product_id for c in resolution.candidates} == {"p-panda", "p-twin"}


@pytest.mark.parametrize(
    ("sku", "gtin"),
    [("887231059577", True), ("00887231059577", True), ("12345678", True), ("DD1391-100", False)],
)
def test_is_gtin_means_digits_of_a_barcode_length(sku: str, gtin: bool) -> None:
    assert is_gtin(sku) is gtin


def test_search_query_uses_the_longest_code() -> None:
    assert search_query("B75806/CW2288-111") == "CW2288-111"


@pytest.mark.parametrize(
    ("raw", "kind"), [("US M", "us m"), ("us-m", "us m"), ("USM", "us m"), ("UK", "uk")]
)
def test_size_type_is_canonical(raw: str, kind: str) -> None:
    assert size_type(raw) == kind


@pytest.mark.parametrize(
    ("label", "kind", "value"),
    [
        ("US M 10.5", "us m", "10.5"),
        ("UK 6 (EU 39)", "uk", "6"),
        ("10.0", "us m", "10"),
        ("EU 36 2/3", "eu", "36 2/3"),
        ("KR 235", "kr", "235"),
    ],
)
def test_size_value_strips_system_prefix_and_disambiguation(
    label: str, kind: str, value: str
) -> None:
    assert size_value(label, kind) == value


def test_size_pairs_keep_labels_and_add_the_default_once() -> None:
    pairs = size_pairs(
        [("US M 6.5", "us m"), ("UK 6 (EU 39)", "uk"), ("EU 39", "eu")], ("6.5", "us m")
    )
    assert [(p.type, p.value, p.label) for p in pairs] == [
        ("us m", "6.5", "US M 6.5"),
        ("uk", "6", "UK 6 (EU 39)"),
        ("eu", "39", "EU 39"),
    ]


def test_pick_variant_refuses_ambiguous_sizes() -> None:
    assert pick_variant([]) is None
    assert pick_variant(["v1", "v1"]) == "v1"
    with pytest.raises(AmbiguousSize):
        pick_variant(["v1", "v2"])


def test_unique_skus_drop_spelling_variants_of_one_sku() -> None:
    assert unique_skus(["DD1391-100", "dd1391 100", "887231059577", "887231059577", " "]) == [
        "DD1391-100",
        "887231059577",
    ]
