"""Matching keys shared by catalog and orders: style codes and sizes, compared exactly.

Wrong sizes cost real money, so both services must normalise a seller's style id and size the
same way: a style code compares by its letters and digits only ("dd1391 100" is DD1391-100),
a size by its canonical (system, value) pair ("US M 10.5" in "us m" is "10.5").
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_CODE_SEPARATORS = re.compile(r"[/,;|]")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_PARENTHETICAL = re.compile(r"\s*\(.*\)\s*$")
_SPACES = re.compile(r"\s+")

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
