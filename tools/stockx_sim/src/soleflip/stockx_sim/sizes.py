"""Size charts per brand family, following docs/domain.md (Nike UK jumps at US M 7, EU is a table).

Each size yields StockX's conversions: a bare default value plus labelled `(size, type)` pairs.
Duplicate UK labels inside one product get the EU size appended, as StockX does
("UK 6 (EU 39)" / "UK 6 (EU 40)").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

_HALF = [x / 2 for x in range(7, 27)]  # 3.5 .. 13

_NIKE_EU = dict(
    zip(
        [*_HALF, 14.0, 15.0],
        [
            35.5,
            36,
            36.5,
            37.5,
            38,
            38.5,
            39,
            40,
            40.5,
            41,
            42,
            42.5,
            43,
            44,
            44.5,
            45,
            45.5,
            46,
            47,
            47.5,
            48.5,
            49.5,
        ],
        strict=True,
    )
)
_NB_EU = {4.0: 36, 4.5: 37, 5.0: 37.5, 5.5: 38, 6.0: 38.5, 6.5: 39.5, 7.0: 40, 7.5: 40.5}
_NB_EU |= {8.0: 41.5, 8.5: 42, 9.0: 42.5, 9.5: 43, 10.0: 44, 10.5: 44.5, 11.0: 45, 11.5: 45.5}
_NB_EU |= {12.0: 46.5, 12.5: 47, 13.0: 47.5, 14.0: 49}
_ASICS_EU = {4.0: 36, 4.5: 37, 5.0: 37.5, 5.5: 38, 6.0: 39, 6.5: 39.5, 7.0: 40, 7.5: 40.5}
_ASICS_EU |= {8.0: 41.5, 8.5: 42, 9.0: 42.5, 9.5: 43.5, 10.0: 44, 10.5: 44.5, 11.0: 45}
_ASICS_EU |= {11.5: 46, 12.0: 46.5, 12.5: 47, 13.0: 48, 14.0: 49}

CHART_TYPES: list[tuple[str, str]] = [
    ("US M", "us m"),
    ("US W", "us w"),
    ("UK", "uk"),
    ("CM", "cm"),
    ("KR", "kr"),
    ("EU", "eu"),
]


@dataclass(frozen=True, slots=True)
class SizeRow:
    """One size of a product: the bare default value and every labelled conversion."""

    value: str
    default_type: str
    conversions: tuple[tuple[str, str], ...]


def fmt(number: float) -> str:
    """`10.0` -> "10", `10.5` -> "10.5"."""
    return f"{number:g}"


def _adidas_eu(us: float) -> str:
    thirds = round((36 + (us - 4) * 4 / 3) * 3)
    whole, rest = divmod(thirds, 3)
    return f"{whole}" + ("" if rest == 0 else f" {rest}/3")


def _uk(family: str, us: float) -> float:
    if family == "nike":
        return us - 0.5 if us <= 6.5 else us - 1
    if family == "asics":
        return us - 1
    return us - 0.5


def _eu(family: str, us: float) -> str:
    if family == "nike":
        return fmt(_NIKE_EU[us])
    if family == "adidas":
        return _adidas_eu(us)
    table = _NB_EU if family == "nb" else _ASICS_EU
    return fmt(table[us])


def men_sizes(family: str) -> list[float]:
    """US M sizes StockX carries for a men's sneaker of this brand family."""
    if family == "nike":
        return [*_HALF, 14.0, 15.0]
    return [*(x / 2 for x in range(8, 27)), 14.0]


def _cm(family: str, us: float) -> float:
    if family == "nike" and us < 7:
        return {3.5: 22.5, 4: 23, 4.5: 23.5, 5: 23.5, 5.5: 24, 6: 24, 6.5: 24.5}[us]
    return us + 18


def size_rows(family: str, women: bool) -> list[SizeRow]:
    """The size chart of one product, in ascending size order."""
    women_offset = 1.0 if family == "adidas" else 1.5
    sizes = men_sizes(family)
    if women:
        sizes = [s for s in sizes if 3.5 <= s <= 10.5]
    raw = []
    for us in sizes:
        cm = _cm(family, us)
        raw.append(
            {
                "us m": f"US M {fmt(us)}",
                "us w": f"US W {fmt(us + women_offset)}",
                "uk": f"UK {fmt(_uk(family, us))}",
                "cm": f"CM {fmt(cm)}",
                "kr": f"KR {fmt(cm * 10)}",
                "eu": f"EU {_eu(family, us)}",
                "_value": fmt(us + women_offset) if women else fmt(us),
            }
        )
    uk_counts = Counter(r["uk"] for r in raw)
    rows = []
    for r in raw:
        if uk_counts[r["uk"]] > 1:
            r["uk"] = f"{r['uk']} ({r['eu']})"
        conversions = tuple((r[t], t) for _, t in CHART_TYPES)
        rows.append(SizeRow(r["_value"], "us w" if women else "us m", conversions))
    return rows
