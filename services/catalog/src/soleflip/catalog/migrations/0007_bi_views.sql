-- BI views (ARCHITECTURE.md section 7, "Views for BI"): the stable read surface of the catalog
-- schema for the role `soleflip_analytics`, which may read nothing else here. Names and columns
-- are a contract: later migrations only append columns.

-- One row per product.
CREATE VIEW v_products AS
SELECT p.id                AS product_id,
       p.stockx_product_id,
       p.style_id,
       p.title,
       p.brand,
       p.product_type,
       p.gender,
       p.colorway,
       p.retail_price,
       p.retail_currency,
       p.release_date,
       p.url_key,
       p.last_enriched_at,
       p.stockx_missing_since
FROM product p;

-- One row per variant (size) of a product; `retired_at` is set once StockX no longer lists it.
CREATE VIEW v_variants AS
SELECT v.id                AS variant_id,
       v.stockx_variant_id,
       v.product_id,
       p.stockx_product_id,
       v.variant_value     AS size,
       v.default_size_type AS size_type,
       v.retired_at
FROM variant v
JOIN product p ON p.id = v.product_id;

GRANT SELECT ON v_products, v_variants TO soleflip_analytics;
