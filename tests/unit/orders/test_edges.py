"""Edge helpers of orders: query parsing and cursors, variant matching, delete outcomes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from soleflip.common.errors import InvalidInput
from soleflip.common.stockx import ProductVariant, VariantSizeChart, VariantSizeConversion
from soleflip.orders.handlers import is_already_done
from soleflip.orders.handlers._variants import _sizes, _style_ids
from soleflip.orders.http._params import (
    decode_cursor,
    encode_cursor,
    limit_of,
    statuses_of,
    time_of,
)


def test_cursor_round_trips_and_rejects_tampering() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    token = encode_cursor([at, "123-456"])
    assert decode_cursor(token, tuple[datetime, str]) == (at, "123-456")
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(token[:-3] + "!!!", tuple[datetime, str])
    assert caught.value.errors[0]["field"] == "cursor"
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor({"x": 1}), tuple[datetime, str])


@pytest.mark.parametrize("raw", ["0", "501", "-1", "ten", "1.5"])
def test_limit_outside_1_to_500_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        limit_of(raw)


def test_limit_default_and_bounds() -> None:
    assert limit_of(None) == 50
    assert limit_of("500") == 500


def test_statuses_are_upper_cased_and_validated() -> None:
    assert statuses_of("created, shipped") == ["CREATED", "SHIPPED"]
    with pytest.raises(InvalidInput):
        statuses_of("CREATED,")


def test_times_need_a_zone_but_a_bare_date_is_utc_midnight() -> None:
    assert time_of("since", "2026-01-31") == datetime(2026, 1, 31, tzinfo=UTC)
    assert time_of("since", "2026-01-31T10:00:00Z") == datetime(2026, 1, 31, 10, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        time_of("since", "2026-01-31T10:00:00")


def test_variant_sizes_are_system_value_pairs() -> None:
    variant = ProductVariant(
        product_id="p",
        variant_id="v",
        size_chart=VariantSizeChart(
            default_conversion=VariantSizeConversion(size="10.5", type="us m"),
            available_conversions=(
                VariantSizeConversion(size="US M 10.5", type="us m"),
                VariantSizeConversion(size="UK 9.5", type="uk"),
                VariantSizeConversion(size="EU 44.5", type="eu"),
            ),
        ),
    )
    assert _sizes(variant) == {("us m", "10.5"), ("uk", "9.5"), ("eu", "44.5")}


def test_combined_style_codes_all_match() -> None:
    assert _style_ids("315122-111/CW2288-111") == {"315122-111", "CW2288-111"}


@pytest.mark.parametrize(
    ("error", "done"),
    [
        ("Listing x can not perform this action: it is already matched", True),
        ("Listing is already completed", True),
        ("The operation could not be completed. Please try again.", False),
        (None, False),
    ],
)
def test_delete_of_a_finished_listing_counts_as_done(error: str | None, done: bool) -> None:
    assert is_already_done(error) is done
