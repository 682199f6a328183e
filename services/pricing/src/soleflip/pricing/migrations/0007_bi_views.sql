-- BI views (ARCHITECTURE.md section 7, "Views for BI"): the stable read surface of the pricing
-- schema for the role `soleflip_analytics`, which may read nothing else here. Names and columns
-- are a contract: later migrations only append columns. Ids are StockX's.

-- The latest market figures per variant and currency.
CREATE VIEW v_market_latest AS
SELECT m.variant_id,
       m.product_id,
       m.currency,
       m.lowest_ask,
       m.highest_bid,
       m.sell_faster,
       m.earn_more,
       m.observed_at,
       m.changed_at
FROM market_latest m;

-- Every real change of a variant's market (the time series behind v_market_latest).
CREATE VIEW v_market_history AS
SELECT m.variant_id,
       m.product_id,
       m.currency,
       m.lowest_ask,
       m.highest_bid,
       m.sell_faster,
       m.earn_more,
       m.observed_at,
       m.source
FROM market_snapshot m;

GRANT SELECT ON v_market_latest, v_market_history TO soleflip_analytics;
