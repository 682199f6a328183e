"""Write side of the catalog: products with their brands, style codes, variants, sizes and GTINs
(and the events that announce them), and enrichment jobs with their items and claims."""

from soleflip.catalog.repository._jobs import (
    claim_item,
    defer_item,
    finish_item,
    finish_job,
    insert_job,
    lock_runner,
    reopen_failed,
    start_job,
    unlock_runner,
)
from soleflip.catalog.repository._products import (
    product_id_of,
    remap_product,
    touch_product,
    upsert_product,
)

__all__ = [
    "claim_item",
    "defer_item",
    "finish_item",
    "finish_job",
    "insert_job",
    "lock_runner",
    "product_id_of",
    "remap_product",
    "reopen_failed",
    "start_job",
    "touch_product",
    "unlock_runner",
    "upsert_product",
]
