-- Readable rows (issue 14 item 1): orders, listings and units name their product (title, brand,
-- style id, colourway, image) and size, from orders' own copy of `catalog.product.upserted`.
-- The REST queries and the BI views join the copy when they read, so a row stored before its
-- product's event shows the product as soon as the event arrives; nothing to backfill per row.
-- Copies stored before this migration gain their text at the product's next catalog event.
ALTER TABLE catalog_product
    ADD COLUMN title      text,
    ADD COLUMN brand      text,
    ADD COLUMN style_id   text,
    ADD COLUMN colorway   text,
    ADD COLUMN image_url  text,
    ADD COLUMN updated_at timestamptz;

-- Each variant's own size (StockX's default size system and value), and which product it is.
CREATE TABLE catalog_variant (
    stockx_variant_id text PRIMARY KEY,
    stockx_product_id text NOT NULL,
    size_type         text,
    size_value        text
);
CREATE INDEX catalog_variant_product ON catalog_variant (stockx_product_id);
INSERT INTO catalog_variant (stockx_variant_id, stockx_product_id)
SELECT DISTINCT ON (stockx_variant_id) stockx_variant_id, stockx_product_id
FROM catalog_size ORDER BY stockx_variant_id, stockx_product_id;

-- The BI views append the same readable columns (names and existing columns unchanged).
CREATE OR REPLACE VIEW v_inventory AS
SELECT s.id                                  AS stock_item_id,
       s.sku,
       s.size,
       s.size_type,
       s.variant_id,
       s.variant_status,
       s.status,
       s.condition,
       s.location,
       s.supplier,
       s.purchased_at,
       (current_date - (s.purchased_at AT TIME ZONE 'UTC')::date) AS age_days,
       s.currency,
       s.unit_cost,
       s.vat_amount,
       s.vat_rate_pct,
       s.inbound_cost                        AS inbound_shipping,
       s.other_cost                          AS other_costs,
       s.landed_cost,
       s.cost_missing,
       s.listing_id,
       s.order_number,
       s.created_at,
       s.updated_at,
       cp.title                              AS product_title,
       cp.brand,
       coalesce(cp.style_id, s.sku)          AS style_id,
       cp.colorway,
       cp.image_url
FROM stock_item s
LEFT JOIN catalog_variant cv ON cv.stockx_variant_id = s.variant_id
LEFT JOIN catalog_product cp ON cp.stockx_product_id = cv.stockx_product_id;

CREATE OR REPLACE VIEW v_sales AS
SELECT o.order_number,
       o.status,
       o.created_at                          AS sold_at,
       o.updated_at,
       o.listing_id,
       o.variant_id,
       o.product_id,
       o.currency,
       o.amount                              AS sale_price,
       o.transaction_fee,
       o.processing_fee,
       o.shipping_fee,
       o.net_proceeds,
       o.fees_source,
       o.cancellation_fee,
       o.landed_cost,
       o.profit,
       o.roi,
       o.stock_item_id,
       s.sku,
       s.size,
       s.size_type,
       s.supplier,
       s.purchased_at,
       ((o.created_at AT TIME ZONE 'UTC')::date
        - (s.purchased_at AT TIME ZONE 'UTC')::date) AS days_to_sell,
       cp.title                              AS product_title,
       cp.brand,
       coalesce(cp.style_id, s.sku)          AS style_id,
       cp.colorway,
       cp.image_url,
       cv.size_type                          AS variant_size_type,
       cv.size_value                         AS variant_size
FROM "order" o
LEFT JOIN stock_item s ON s.id = o.stock_item_id
LEFT JOIN catalog_variant cv ON cv.stockx_variant_id = o.variant_id
LEFT JOIN catalog_product cp ON cp.stockx_product_id = coalesce(cv.stockx_product_id, o.product_id);

CREATE OR REPLACE VIEW v_listings AS
SELECT l.listing_id,
       l.status,
       l.variant_id,
       l.product_id,
       l.stock_item_id,
       l.currency,
       l.amount,
       l.inventory_type,
       l.expires_at,
       l.order_number,
       l.created_at,
       l.updated_at,
       cp.title                              AS product_title,
       cp.brand,
       coalesce(cp.style_id, l.style_id)     AS style_id,
       cp.colorway,
       cp.image_url,
       cv.size_type,
       coalesce(cv.size_value, l.variant_value) AS size
FROM listing l
LEFT JOIN catalog_variant cv ON cv.stockx_variant_id = l.variant_id
LEFT JOIN catalog_product cp ON cp.stockx_product_id = coalesce(cv.stockx_product_id, l.product_id);
