-- One product StockX keeps failing on (5xx or an undecodable body for its id) must not stop the
-- refresh poller: it is counted here, asked after the others, and no more once the count reaches
-- the poller's bound; a successful refresh clears it. `stockx_missing_since` flags a product
-- whose id answers 404 and whose style id finds nothing (kept as it was).
ALTER TABLE product
    ADD COLUMN refresh_failures integer NOT NULL DEFAULT 0,
    ADD COLUMN refresh_failed_at timestamptz,
    ADD COLUMN refresh_error text,
    ADD COLUMN stockx_missing_since timestamptz;
