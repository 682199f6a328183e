-- An item whose StockX calls failed for a transient reason (rate limit, outage) stays pending
-- and is retried; `retries` counts those deferrals and `detail` keeps the last reason.
ALTER TABLE enrichment_item ADD COLUMN retries integer NOT NULL DEFAULT 0;
