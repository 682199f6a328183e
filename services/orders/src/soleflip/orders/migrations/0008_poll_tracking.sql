-- What the poller learned about single resources, so it spends no call twice for nothing:
-- * stockx_missing_since / stockx_missing_tries: StockX answered 404 for the order or listing
--   (known only from a webhook, or not created there after all); after a bounded number of
--   tries it is no longer asked for, until a list page shows it again (then both are cleared).
-- * "order".detail_status: the status at which the order's detail (shipment, tracking, payout)
--   was last read; read again only when the status moves on and a field is still missing.
-- * listing.stockx_expired: the listing was last seen in StockX's expired list (hidden from the
--   default list), so its absence from the changeable listings is not news.
ALTER TABLE "order"
    ADD COLUMN stockx_missing_since timestamptz,
    ADD COLUMN stockx_missing_tries integer NOT NULL DEFAULT 0,
    ADD COLUMN detail_status text;
ALTER TABLE listing
    ADD COLUMN stockx_missing_since timestamptz,
    ADD COLUMN stockx_missing_tries integer NOT NULL DEFAULT 0,
    ADD COLUMN stockx_expired boolean NOT NULL DEFAULT false;
