"""Catalog rules, free of I/O: exact style-id matching, GTINs, structured sizes.

Wrong sizes cost real money, so every rule here prefers "unresolved" or "ambiguous" to a guess:
StockX search is fuzzy (DD1391-100 also finds DD1391-103), so a search hit counts only when one
of its style codes equals one of the asked codes after normalisation; a size label that repeats
inside a product ("UK 6" twice) never resolves to one variant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

# One normalisation for catalog and orders (orders matches purchases to variants with it).
from soleflip.common.matching import SIZE_TYPE_ALIASES as SIZE_TYPE_ALIASES
from soleflip.common.matching import code_key as code_key
from soleflip.common.matching import code_keys as code_keys
from soleflip.common.matching import size_type as size_type
from soleflip.common.matching import size_value as size_value
from soleflip.common.matching import style_codes as style_codes

GTIN_LENGTHS = (8, 12, 13, 14)


def is_gtin(sku: str) -> bool:
    """A UPC/EAN/ITF-14 barcode rather than a style id (digits of a barcode length)."""
    text = sku.strip()
    return text.isdigit() and len(text) in GTIN_LENGTHS


def search_query(sku: str) -> str:
    """What to ask StockX's search for a SKU: its longest code (combined codes search worse)."""
    codes = style_codes(sku)
    return max(codes, key=len) if codes else sku.strip()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A search hit offered to a human when no exact match exists."""

    stockx_product_id: str
    style_id: str | None
    title: str | None


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of matching a SKU against search hits: one product id, or candidates."""

    status: Literal["resolved", "unresolved"]
    stockx_product_id: str | None = None
    candidates: tuple[Candidate, ...] = ()
    reason: str | None = None


def match_style_id(sku: str, hits: Sequence[Candidate]) -> Resolution:
    """The one hit whose style codes contain every code of `sku`; otherwise unresolved.

    Several distinct exact hits are unresolved too (with them as candidates): picking one would
    be a guess.
    """
    wanted = set(code_keys(sku))
    if not wanted:
        return Resolution("unresolved", reason="empty style id")
    exact = {h.stockx_product_id: h for h in hits if wanted <= set(code_keys(h.style_id))}
    if len(exact) == 1:
        return Resolution("resolved", stockx_product_id=next(iter(exact)))
    if exact:
        return Resolution("unresolved", candidates=tuple(exact.values()), reason="ambiguous")
    return Resolution("unresolved", candidates=tuple(hits[:10]), reason="no exact style id match")


@dataclass(frozen=True, slots=True)
class SizePair:
    """One size of a variant in one system: ("uk", "6"), with StockX's label ("UK 6 (EU 39)")."""

    type: str
    value: str
    label: str = field(default="", compare=False)


def size_pairs(
    conversions: Iterable[tuple[str | None, str | None]],
    default: tuple[str | None, str | None] = (None, None),
) -> list[SizePair]:
    """Structured pairs from StockX's `(size label, type)` conversions plus the default size."""
    pairs: dict[tuple[str, str], SizePair] = {}
    for label, raw_type in [*conversions, default]:
        if not label or not raw_type:
            continue
        kind = size_type(raw_type)
        pair = SizePair(kind, size_value(label, kind), label.strip())
        pairs.setdefault((pair.type, pair.value), pair)
    return list(pairs.values())


class AmbiguousSize(Exception):
    """Several variants of one product carry the same (type, value): refuse to pick one."""

    def __init__(self, variant_ids: Sequence[str]) -> None:
        super().__init__(f"{len(variant_ids)} variants share this size")
        self.variant_ids = list(variant_ids)


def pick_variant(matches: Sequence[str]) -> str | None:
    """The single variant id among `matches`; None for none; `AmbiguousSize` for several."""
    unique = list(dict.fromkeys(matches))
    if len(unique) > 1:
        raise AmbiguousSize(unique)
    return unique[0] if unique else None
