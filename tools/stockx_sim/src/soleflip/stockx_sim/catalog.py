"""The seeded sneaker catalog: products, variants, size charts and GTINs from `random.Random(seed)`.

A fixed set of anchor products (combined style codes such as "315122-111/CW2288-111" and near-miss
style ids such as DD1391-100 / DD1391-103) is always present; generated products fill the rest.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from soleflip.stockx_sim.catalog_data import ANCHORS, COLORWAYS, MODELS, SEASONS, Spec
from soleflip.stockx_sim.clock import uuid4_from
from soleflip.stockx_sim.sizes import size_rows


@dataclass(slots=True)
class Variant:
    """One size of a product, as StockX models it."""

    variant_id: str
    product_id: str
    name: str
    value: str
    default_type: str
    conversions: tuple[tuple[str, str], ...]
    gtins: list[tuple[str, str]]
    flex: bool
    direct: bool
    price_factor: float


@dataclass(slots=True)
class Product:
    """A catalog product with its variants; `base_usd` anchors its market prices."""

    product_id: str
    url_key: str
    style_id: str | None
    title: str
    brand: str
    gender: str
    season: str | None
    release_date: str | None
    retail_price: float | None
    colorway: str | None
    color: str | None
    default_chart: tuple[str, str]
    flex: bool
    direct: bool
    base_usd: int
    product_type: str = "sneakers"
    variants: list[Variant] = field(default_factory=list)

    @property
    def style_codes(self) -> list[str]:
        return self.style_id.split("/") if self.style_id else []


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def gtin_check_digit(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def _gtins(rng: random.Random) -> list[tuple[str, str]]:
    roll = rng.random()
    if roll < 0.12:
        return []
    upc_body = "19" + "".join(str(rng.randrange(10)) for _ in range(9))
    gtins = [(upc_body + gtin_check_digit(upc_body), "UPC")]
    if roll > 0.85:
        ean_body = "0" + upc_body
        gtins.append((ean_body + gtin_check_digit(ean_body), "EAN-13"))
    return gtins


def _style_code(rng: random.Random, family: str) -> str:
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTVWXYZ") for _ in range(2))
    digits = "".join(str(rng.randrange(10)) for _ in range(4))
    if family == "nike":
        return f"{letters}{digits}-{rng.randrange(1, 999):03d}"
    if family == "adidas":
        return f"{letters}{digits}"
    if family == "nb":
        return f"{rng.choice(['M', 'U', 'BB'])}{rng.randrange(100, 9999)}{letters}"
    return f"1201A{rng.randrange(100, 999)}-{rng.randrange(1, 999):03d}"


def _title(spec: Spec) -> str:
    if spec.brand == "Jordan":
        return spec.model if spec.model.startswith("Jordan") else f"Jordan {spec.model}"
    return f"{spec.brand} {spec.model}"


def _build(rng: random.Random, spec: Spec) -> Product:
    title = _title(spec)
    product = Product(
        product_id=uuid4_from(rng),
        url_key=slug(title),
        style_id=spec.style,
        title=title,
        brand=spec.brand,
        gender="women" if spec.women else "men",
        season=rng.choice(SEASONS),
        release_date=spec.release,
        retail_price=float(spec.retail),
        colorway=spec.colorway,
        color=spec.color,
        default_chart=("US W", "us w") if spec.women else ("US M", "us m"),
        flex=rng.random() < 0.6,
        direct=rng.random() < 0.4,
        base_usd=int(spec.retail * rng.uniform(0.7, 2.6)),
    )
    _add_variants(rng, product, spec)
    return product


def _add_variants(rng: random.Random, product: Product, spec: Spec) -> None:
    name_stem = "-".join(w for w in re.split(r"[^A-Za-z0-9]+", product.title) if w)
    for index, row in enumerate(size_rows(spec.family, spec.women)):
        edge = abs(index - 8) / 8  # very small and very large sizes trade higher
        product.variants.append(
            Variant(
                variant_id=uuid4_from(rng),
                product_id=product.product_id,
                name=f"{name_stem}:{index}",
                value=row.value,
                default_type=row.default_type,
                conversions=row.conversions,
                gtins=_gtins(rng),
                flex=product.flex,
                direct=product.direct,
                price_factor=round(1 + 0.35 * edge * edge + rng.uniform(-0.08, 0.08), 3),
            )
        )


def _generated_spec(rng: random.Random, taken: set[str]) -> Spec:
    brand = rng.choice(list(MODELS))
    family, models = MODELS[brand]
    colorway, color = rng.choice(COLORWAYS)
    style: str | None = _style_code(rng, family)
    while style in taken:
        style = _style_code(rng, family)
    taken.add(str(style))
    if rng.random() < 0.06:
        style = None  # some products carry no style id at StockX
    year = rng.randrange(2015, 2026)
    release = f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    retail = rng.choice([100, 110, 120, 140, 150, 170, 180, 190, 200, 220, 230])
    women = rng.random() < 0.15
    model = f"{rng.choice(models)} {colorway}" + (" (W)" if women else "")
    return Spec(
        brand, family, model, style, colorway.replace(" ", "/"), color, retail, release, women
    )


def build_catalog(rng: random.Random, count: int) -> list[Product]:
    """`count` products (at least the anchors), deterministic for a given `rng` state."""
    products = [_build(rng, spec) for spec in ANCHORS]
    taken = {p.style_id for p in products if p.style_id}
    titles = {p.title for p in products}
    while len(products) < count:
        spec = _generated_spec(rng, taken)
        product = _build(rng, spec)
        if product.title in titles:
            product.title = f"{product.title} {spec.release[:4]}"
            product.url_key = slug(product.title)
        titles.add(product.title)
        products.append(product)
    return products
