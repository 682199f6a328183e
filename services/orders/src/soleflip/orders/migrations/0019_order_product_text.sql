-- Readable rows before the catalog event (issue 14 item 1): StockX's order and listing payloads
-- name the product (`product.productName`, `product.styleId`) and the size
-- (`variant.variantValue`). Orders keep them (listings already kept the style id and size,
-- migration 0012) so a row shows a title, style id and size while orders' catalog copy does not
-- know the product yet; the catalog copy wins once it arrives (the REST queries read
-- coalesce(catalog, payload)). A later payload without them keeps what an earlier one said.
ALTER TABLE "order"
    ADD COLUMN product_name  text,
    ADD COLUMN style_id      text,
    ADD COLUMN variant_value text;
ALTER TABLE listing ADD COLUMN product_name text;

-- The BI views read them the same way (columns unchanged).
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
       coalesce(cp.title, l.product_name)    AS product_title,
       cp.brand,
       coalesce(cp.style_id, l.style_id)     AS style_id,
       cp.colorway,
       cp.image_url,
       cv.size_type,
       coalesce(cv.size_value, l.variant_value) AS size
FROM listing l
LEFT JOIN catalog_variant cv ON cv.stockx_variant_id = l.variant_id
LEFT JOIN catalog_product cp ON cp.stockx_product_id = coalesce(cv.stockx_product_id, l.product_id);

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
       coalesce(cp.title, o.product_name)    AS product_title,
       cp.brand,
       coalesce(cp.style_id, o.style_id, s.sku) AS style_id,
       cp.colorway,
       cp.image_url,
       cv.size_type                          AS variant_size_type,
       coalesce(cv.size_value, o.variant_value) AS variant_size,
       s.supplier_id,
       sp.kind                               AS supplier_kind
FROM "order" o
LEFT JOIN stock_item s ON s.id = o.stock_item_id
LEFT JOIN catalog_variant cv ON cv.stockx_variant_id = o.variant_id
LEFT JOIN catalog_product cp ON cp.stockx_product_id = coalesce(cv.stockx_product_id, o.product_id)
LEFT JOIN supplier sp ON sp.id = s.supplier_id;
