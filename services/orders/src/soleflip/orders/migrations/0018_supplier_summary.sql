-- Supplier KPIs (/api/v1/reports/suppliers) read pre-aggregated figures instead of every unit
-- and every sale, and sales by supplier group on the supplier entity, not on the unit's text
-- (which keeps the case the seller typed: "zalando" and "Zalando" were two groups).
--
-- `supplier_summary`: per (supplier, currency, UTC day) the units bought that day (purchase
-- time, the unit's currency: units, landed cost, units without a cost) and the sales of the
-- supplier's units that day (sale time, the sale's currency: sales, revenue, profit and landed
-- cost of the sales with a profit, sales without one, UTC days from purchase to sale).
-- supplier_id 0 stands for a unit without a supplier. The bought half is kept by statement
-- triggers on stock_item, the sold half by sales_summary_add from `sales_fact`, both in the
-- writing transaction. A report sums whole days and reads single rows for the partial days at
-- a window's edges.

ALTER TABLE sales_fact DROP COLUMN supplier;
ALTER TABLE sales_fact ADD COLUMN supplier_id bigint;
-- UTC date of sale - UTC date of purchase of a sold linked unit (0 otherwise).
ALTER TABLE sales_fact ADD COLUMN sold_days integer NOT NULL DEFAULT 0;

CREATE TABLE supplier_summary (
    supplier_id    bigint NOT NULL,
    currency       text,
    day            date NOT NULL,
    units_bought   bigint NOT NULL DEFAULT 0,
    spend          numeric NOT NULL DEFAULT 0,
    cost_missing   bigint NOT NULL DEFAULT 0,
    units_sold     bigint NOT NULL DEFAULT 0,
    revenue        numeric NOT NULL DEFAULT 0,
    profit         numeric NOT NULL DEFAULT 0,
    sold_cost      numeric NOT NULL DEFAULT 0,
    without_profit bigint NOT NULL DEFAULT 0,
    days_sum       bigint NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (supplier_id, currency, day)
);

-- What a unit adds to the bought half.
CREATE TYPE supplier_summary_unit AS (
    supplier_id  bigint,
    currency     text,
    purchased_at timestamptz,
    landed_cost  numeric,
    cost_missing boolean
);

CREATE FUNCTION supplier_bought_add(units supplier_summary_unit[], sign integer) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
INSERT INTO supplier_summary AS t (supplier_id, currency, day, units_bought, spend, cost_missing)
SELECT coalesce(u.supplier_id, 0), u.currency, (u.purchased_at AT TIME ZONE 'UTC')::date,
       sign * count(*), sign * coalesce(sum(u.landed_cost), 0),
       sign * count(*) FILTER (WHERE u.cost_missing OR u.landed_cost IS NULL)
FROM unnest(units) AS u
GROUP BY 1, 2, 3
ORDER BY 3, 1, 2  -- one lock order for every writer
ON CONFLICT (supplier_id, currency, day) DO UPDATE SET
    units_bought = t.units_bought + excluded.units_bought,
    spend = t.spend + excluded.spend,
    cost_missing = t.cost_missing + excluded.cost_missing;
END
$$;

CREATE FUNCTION supplier_summary_on_unit() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM supplier_bought_add(ARRAY(
            SELECT (supplier_id, currency, purchased_at, landed_cost,
                    cost_missing)::supplier_summary_unit FROM new_rows), 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM supplier_bought_add(ARRAY(
            SELECT (supplier_id, currency, purchased_at, landed_cost,
                    cost_missing)::supplier_summary_unit FROM old_rows), -1);
    ELSE
        PERFORM supplier_bought_add(ARRAY(
            SELECT (o.supplier_id, o.currency, o.purchased_at, o.landed_cost,
                    o.cost_missing)::supplier_summary_unit
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE (n.supplier_id, n.currency, n.purchased_at, n.landed_cost, n.cost_missing)
                  IS DISTINCT FROM
                  (o.supplier_id, o.currency, o.purchased_at, o.landed_cost, o.cost_missing)),
            -1);
        PERFORM supplier_bought_add(ARRAY(
            SELECT (n.supplier_id, n.currency, n.purchased_at, n.landed_cost,
                    n.cost_missing)::supplier_summary_unit
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE (n.supplier_id, n.currency, n.purchased_at, n.landed_cost, n.cost_missing)
                  IS DISTINCT FROM
                  (o.supplier_id, o.currency, o.purchased_at, o.landed_cost, o.cost_missing)),
            1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER supplier_summary_insert AFTER INSERT ON stock_item
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION supplier_summary_on_unit();
CREATE TRIGGER supplier_summary_update AFTER UPDATE ON stock_item
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION supplier_summary_on_unit();
CREATE TRIGGER supplier_summary_delete AFTER DELETE ON stock_item
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION supplier_summary_on_unit();

-- The sales summary keys the supplier group on the entity's id; the sold half of the supplier
-- summary counts the sales of linked units.
-- plpgsql, not sql: a non-inlined SQL function plans its statements on every call, and the
-- triggers call this twice per written statement.
DROP FUNCTION sales_summary_add(text[], integer);
CREATE FUNCTION sales_summary_add(numbers text[], sign integer) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
INSERT INTO sales_summary AS t
SELECT g.grain, g.period, f.currency, d.dim, d.key,
       sign * sum(f.sales), sign * sum(f.revenue), sign * sum(f.net_proceeds),
       sign * sum(f.landed_cost), sign * sum(f.sales_profit), sign * sum(f.cancellations),
       sign * sum(f.cancellation_charges), sign * sum(f.days_seconds), sign * sum(f.days_n),
       sign * sum(f.without_profit), sign * sum(f.sold_linked)
FROM sales_fact f
CROSS JOIN LATERAL (VALUES ('day', f.day), ('month', date_trunc('month', f.day)::date))
    AS g (grain, period)
CROSS JOIN LATERAL (VALUES ('period', NULL), ('product', f.product_key), ('size', f.size_key),
                           ('supplier', f.supplier_id::text), ('brand', f.brand)) AS d (dim, key)
WHERE f.order_number = ANY(numbers)
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 4, 2, 3, 5  -- one lock order for every writer
ON CONFLICT (grain, dim, period, currency, key) DO UPDATE SET
    sales = t.sales + excluded.sales,
    revenue = t.revenue + excluded.revenue,
    net_proceeds = t.net_proceeds + excluded.net_proceeds,
    landed_cost = t.landed_cost + excluded.landed_cost,
    sales_profit = t.sales_profit + excluded.sales_profit,
    cancellations = t.cancellations + excluded.cancellations,
    cancellation_charges = t.cancellation_charges + excluded.cancellation_charges,
    days_seconds = t.days_seconds + excluded.days_seconds,
    days_n = t.days_n + excluded.days_n,
    without_profit = t.without_profit + excluded.without_profit,
    sold_linked = t.sold_linked + excluded.sold_linked;
INSERT INTO supplier_summary AS t (supplier_id, currency, day, units_sold, revenue, profit,
                                   sold_cost, without_profit, days_sum)
SELECT coalesce(f.supplier_id, 0), f.currency, f.day, sign * count(*), sign * sum(f.revenue),
       sign * sum(f.sales_profit), sign * sum(f.landed_cost), sign * sum(f.without_profit),
       sign * sum(f.sold_days)
FROM sales_fact f
WHERE f.order_number = ANY(numbers) AND f.sold_linked = 1
GROUP BY 1, 2, 3
ORDER BY 3, 1, 2
ON CONFLICT (supplier_id, currency, day) DO UPDATE SET
    units_sold = t.units_sold + excluded.units_sold,
    revenue = t.revenue + excluded.revenue,
    profit = t.profit + excluded.profit,
    sold_cost = t.sold_cost + excluded.sold_cost,
    without_profit = t.without_profit + excluded.without_profit,
    days_sum = t.days_sum + excluded.days_sum;
END
$$;

CREATE OR REPLACE FUNCTION sales_fact_refresh(numbers text[]) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF numbers IS NULL OR cardinality(numbers) = 0 THEN
        RETURN;
    END IF;
    PERFORM sales_summary_add(numbers, -1);
    DELETE FROM sales_fact WHERE order_number = ANY(numbers);
    INSERT INTO sales_fact (order_number, sold_at, day, currency, product_key, size_key,
                            supplier_id, brand, sales, revenue, net_proceeds, landed_cost,
                            sales_profit, cancellations, cancellation_charges, days_seconds,
                            days_n, without_profit, sold_linked, sold_days)
    SELECT o.order_number, o.created_at, (o.created_at AT TIME ZONE 'UTC')::date, o.currency,
           o.product_id, s.size_type || ' ' || s.size, s.supplier_id, cp.brand,
           x.sale::int,
           CASE WHEN x.sale THEN coalesce(o.amount, 0) ELSE 0 END,
           CASE WHEN x.sale THEN coalesce(o.net_proceeds, 0) ELSE 0 END,
           CASE WHEN x.sale AND o.profit IS NOT NULL THEN coalesce(o.landed_cost, 0) ELSE 0 END,
           CASE WHEN x.sale THEN coalesce(o.profit, 0) ELSE 0 END,
           (NOT x.sale)::int,
           CASE WHEN x.sale THEN 0 ELSE coalesce(o.cancellation_fee, 0) END,
           CASE WHEN x.sale AND s.purchased_at IS NOT NULL
                THEN extract(epoch FROM o.created_at - s.purchased_at) ELSE 0 END,
           (x.sale AND s.purchased_at IS NOT NULL)::int,
           (x.sale AND o.profit IS NULL)::int,
           (x.sale AND o.stock_item_id IS NOT NULL)::int,
           CASE WHEN x.sale AND s.purchased_at IS NOT NULL
                THEN (o.created_at AT TIME ZONE 'UTC')::date
                     - (s.purchased_at AT TIME ZONE 'UTC')::date
                ELSE 0 END
    FROM "order" o
    CROSS JOIN LATERAL (SELECT NOT no_sale(o.status) AS sale) x
    LEFT JOIN stock_item s ON s.id = o.stock_item_id
    LEFT JOIN catalog_variant cv ON cv.stockx_variant_id = o.variant_id
    LEFT JOIN catalog_product cp
        ON cp.stockx_product_id = coalesce(cv.stockx_product_id, o.product_id)
    WHERE o.order_number = ANY(numbers) AND o.created_at IS NOT NULL;
    PERFORM sales_summary_add(numbers, 1);
END
$$;

-- A unit moved to another supplier moves its sales (the text follows the id, but a unit can
-- also move between suppliers whose names differ only in case).
CREATE OR REPLACE FUNCTION sales_fact_on_unit() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM sales_fact_refresh(ARRAY(
        SELECT o.order_number FROM "order" o
        WHERE o.stock_item_id IN (
            SELECT n.id FROM new_rows n JOIN old_rows p USING (id)
            WHERE (n.size, n.size_type, n.supplier, n.supplier_id, n.purchased_at)
                  IS DISTINCT FROM
                  (p.size, p.size_type, p.supplier, p.supplier_id, p.purchased_at))));
    RETURN NULL;
END
$$;

-- The stock summary's writer too (0016), for the same reason.
CREATE OR REPLACE FUNCTION stock_summary_add(units stock_summary_unit[], sign integer)
RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
INSERT INTO stock_summary AS t
SELECT u.status, u.currency, (u.purchased_at AT TIME ZONE 'UTC')::date,
       sign * count(*), sign * coalesce(sum(u.landed_cost), 0),
       sign * count(*) FILTER (WHERE u.cost_missing OR u.landed_cost IS NULL)
FROM unnest(units) AS u
GROUP BY 1, 2, 3
ORDER BY 3, 1, 2  -- one lock order for every writer
ON CONFLICT (day, status, currency) DO UPDATE SET
    units = t.units + excluded.units,
    value = t.value + excluded.value,
    cost_missing = t.cost_missing + excluded.cost_missing;
INSERT INTO held_by_variant AS t
SELECT u.variant_id, u.currency, sign * count(*),
       sign * count(*) FILTER (WHERE NOT u.cost_missing AND u.landed_cost IS NOT NULL),
       sign * coalesce(sum(u.landed_cost) FILTER (WHERE NOT u.cost_missing), 0)
FROM unnest(units) AS u
WHERE u.status IN ('IN_STOCK', 'LISTED') AND u.variant_id IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2
ON CONFLICT (variant_id, currency) DO UPDATE SET
    units = t.units + excluded.units,
    units_costed = t.units_costed + excluded.units_costed,
    cost = t.cost + excluded.cost;
END
$$;

-- Rebuild both summaries with the new keys.
TRUNCATE sales_fact, sales_summary;
SELECT sales_fact_refresh(ARRAY(SELECT order_number FROM "order"));
SELECT supplier_bought_add(ARRAY(
    SELECT (supplier_id, currency, purchased_at, landed_cost,
            cost_missing)::supplier_summary_unit FROM stock_item), 1);
