-- BI views (ARCHITECTURE.md section 7, "Views for BI"): the stable, documented read surface of
-- the orders schema for Metabase, Grafana and SQL users, readable by the role
-- `soleflip_analytics`, which may read nothing else here. Names and columns are a contract:
-- a later migration may only append columns (CREATE OR REPLACE VIEW), never rename or drop one.
-- Money columns are numeric in the row's `currency`.

-- One row per stock unit: what it cost (landed cost and its parts) and where it is.
CREATE VIEW v_inventory AS
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
       s.updated_at
FROM stock_item s;

-- One row per StockX order (a sale), with its fees, payout, profit and the unit it sold.
CREATE VIEW v_sales AS
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
        - (s.purchased_at AT TIME ZONE 'UTC')::date) AS days_to_sell
FROM "order" o
LEFT JOIN stock_item s ON s.id = o.stock_item_id;

-- One row per StockX listing (ask).
CREATE VIEW v_listings AS
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
       l.updated_at
FROM listing l;

GRANT SELECT ON v_inventory, v_sales, v_listings TO soleflip_analytics;
