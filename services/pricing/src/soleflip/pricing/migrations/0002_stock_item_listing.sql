-- Finding a listing's stock item by listing id (evaluation context) must be an index probe.
CREATE INDEX stock_item_listing ON stock_item (listing_id) WHERE listing_id IS NOT NULL;
