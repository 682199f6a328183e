"""Catalog rules, free of I/O: exact style-id matching, GTINs, structured sizes.

Wrong sizes cost real money, so every rule here prefers "unresolved" or "ambiguous" to a guess:
StockX search is fuzzy (DD1391-100 also finds DD1391-103), so a search hit counts only when one
of its style codes equals one of the asked codes after normalisation; a size label that repeats
inside a product ("UK 6" twice) never resolves to one variant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

_CODE_SEPARATORS = re.compile(r"[/,;|]")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_PARENTHETICAL = re.compile(r"\s*\(.*\)\s*$")
_SPACES = re.compile(r"\s+")
GTIN_LENGTHS = (8, 12, 13, 14)

#: Size systems StockX uses, plus the seller-side systems docs/domain.md keeps explicit.
SIZE_TYPE_ALIASES = {"usm": "us m", "usw": "us w", "us men": "us m", "us women": "us w"}


def style_codes(style_id: str | None) -> list[str]:
    """The codes of a (possibly combined) style id, as written: "A/B" -> ["A", "B"]."""
    if not style_id:
        return []
    parts = (_SPACES.sub(" ", p).strip().upper() for p in _CODE_SEPARATORS.split(style_id))
    return list(dict.fromkeys(p for p in parts if p))


def code_key(code: str) -> str:
    """The comparison key of one style code: upper case, letters and digits only.

    "dd1391 100", "DD1391-100" and " DD1391-100 " share a key; "DD1391-103" does not.
    """
    return _NOT_ALNUM.sub("", code.upper())


def code_keys(style_id: str | None) -> list[str]:
    """The distinct comparison keys of every code of a style id."""
    return list(dict.fromkeys(k for k in (code_key(c) for c in style_codes(style_id)) if k))


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


def size_type(raw: str) -> str:
    """Canonical size system: "US-M", "us_m", "USM" -> "us m"."""
    text = _SPACES.sub(" ", raw.replace("-", " ").replace("_", " ")).strip().lower()
    return SIZE_TYPE_ALIASES.get(text.replace(" ", ""), SIZE_TYPE_ALIASES.get(text, text))


def size_value(raw: str, kind: str = "") -> str:
    """Canonical size value: the label without its system prefix and disambiguating suffix.

    "US M 10.5" (us m) -> "10.5"; "UK 6 (EU 39)" (uk) -> "6"; "10.0" -> "10"; "36 2/3" stays.
    """
    text = _PARENTHETICAL.sub("", _SPACES.sub(" ", raw).strip())
    if kind and text.lower().startswith(kind + " "):
        text = text[len(kind) + 1 :]
    text = text.strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text.lower()
    if not number.is_finite():
        return text.lower()
    return format(number.normalize(), "f") if number == number.to_integral() else str(number)


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
