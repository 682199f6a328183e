"""StockX's order-status vocabulary, spelt once in `soleflip.common.stockx`: it is the public
OpenAPI document's, and every service that ranks or filters statuses reads all of it."""

from __future__ import annotations

import json
from pathlib import Path

from soleflip.common.stockx import (
    ACTIVE_ORDER_STATUSES,
    HISTORICAL_ORDER_STATUSES,
    NO_SALE_ORDER_STATUSES,
    ORDER_STATUSES,
)
from soleflip.orders.domain import HISTORY_STATUSES, NO_SALE_STATUSES, ORDER_RANK

OPENAPI = Path(__file__).parents[2] / "integration" / "stockx_sim" / "data"


def _enum(name: str) -> list[str]:
    document = json.loads((OPENAPI / "stockx-public-openapi.json").read_text())
    values: list[str] = document["components"]["schemas"][name]["enum"]
    return values


def test_the_vocabulary_is_the_openapi_documents() -> None:
    assert list(ACTIVE_ORDER_STATUSES) == _enum("ActiveOrderStatus")
    assert list(HISTORICAL_ORDER_STATUSES) == _enum("HistoricalOrderStatus")
    assert len(set(ORDER_STATUSES)) == len(ORDER_STATUSES) == 18
    assert {"PENDING", "DONOTSHIP", "RETURNED"} <= set(ORDER_STATUSES)


def test_orders_ranks_every_status_and_shares_the_no_sale_and_history_sets() -> None:
    assert set(ORDER_RANK) == set(ORDER_STATUSES)
    assert NO_SALE_STATUSES == NO_SALE_ORDER_STATUSES
    assert set(ORDER_STATUSES) >= NO_SALE_ORDER_STATUSES
    assert set(HISTORY_STATUSES) == set(HISTORICAL_ORDER_STATUSES)
