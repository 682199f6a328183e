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
    clear_refresh_failures,
    mark_missing,
    product_id_of,
    record_refresh_failure,
    remap_product,
    touch_product,
    upsert_product,
)

__all__ = [
    "claim_item",
    "clear_refresh_failures",
    "defer_item",
    "finish_item",
    "finish_job",
    "insert_job",
    "lock_runner",
    "mark_missing",
    "product_id_of",
    "record_refresh_failure",
    "remap_product",
    "reopen_failed",
    "start_job",
    "touch_product",
    "unlock_runner",
    "upsert_product",
]
