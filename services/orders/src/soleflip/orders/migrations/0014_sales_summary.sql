-- Sales KPIs (/api/v1/reports/sales) read pre-aggregated figures instead of every order.
--
-- `sales_fact` holds one row per order with a sale time: its group keys (UTC day, currency,
-- product, size, supplier, brand) and what it adds to each figure. `sales_summary` holds the sums
-- of those rows per (grain, period, currency, dim, key), for the UTC day and the UTC month,
-- `dim` one of period (key null), product, size, supplier, brand. Statement triggers keep both
-- exact in the transaction that changes their inputs: an order, the unit it is linked to
-- (size, supplier, purchase time) or orders' catalog copy (brand). A report sums whole months
-- and whole days from the summary and reads `sales_fact` only for the partial days at the edges.

-- A sale that fell through (soleflip.orders.domain.NO_SALE_STATUSES; a unit test compares).
CREATE FUNCTION no_sale(status text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN status IN ('AUTHFAILED', 'CANCELED', 'CCAUTHORIZATIONFAILED', 'DIDNOTSHIP', 'DONOTSHIP',
                  'RETURNED');

CREATE TABLE sales_fact (
    order_number         text PRIMARY KEY,
    sold_at              timestamptz NOT NULL,
    day                  date NOT NULL,
    currency             text,
    product_key          text,
    size_key             text,
    supplier             text,
    brand                text,
    sales                integer NOT NULL,
    revenue              numeric NOT NULL,
    net_proceeds         numeric NOT NULL,
    landed_cost          numeric NOT NULL,
    sales_profit         numeric NOT NULL,
    cancellations        integer NOT NULL,
    cancellation_charges numeric NOT NULL,
    days_seconds         numeric NOT NULL,
    days_n               integer NOT NULL,
    without_profit       integer NOT NULL,
    sold_linked          integer NOT NULL
);
CREATE INDEX sales_fact_sold_at ON sales_fact (sold_at);

CREATE TABLE sales_summary (
    grain                text NOT NULL,
    period               date NOT NULL,
    currency             text,
    dim                  text NOT NULL,
    key                  text,
    sales                bigint NOT NULL,
    revenue              numeric NOT NULL,
    net_proceeds         numeric NOT NULL,
    landed_cost          numeric NOT NULL,
    sales_profit         numeric NOT NULL,
    cancellations        bigint NOT NULL,
    cancellation_charges numeric NOT NULL,
    days_seconds         numeric NOT NULL,
    days_n               bigint NOT NULL,
    without_profit       bigint NOT NULL,
    sold_linked          bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (grain, dim, period, currency, key)
);

-- The triggers below find the orders a change touches by these.
CREATE INDEX order_stock_item ON "order" (stock_item_id) WHERE stock_item_id IS NOT NULL;
CREATE INDEX order_variant ON "order" (variant_id);
CREATE INDEX order_product ON "order" (product_id);

-- Adds `sign` x the facts of `numbers` (as sales_fact holds them now) to the summary.
CREATE FUNCTION sales_summary_add(numbers text[], sign integer) RETURNS void
LANGUAGE sql AS $$
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
                           ('supplier', f.supplier), ('brand', f.brand)) AS d (dim, key)
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
    sold_linked = t.sold_linked + excluded.sold_linked
$$;

-- Recomputes the facts of `numbers` from the orders, their units and the catalog copy.
CREATE FUNCTION sales_fact_refresh(numbers text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF numbers IS NULL OR cardinality(numbers) = 0 THEN
        RETURN;
    END IF;
    PERFORM sales_summary_add(numbers, -1);
    DELETE FROM sales_fact WHERE order_number = ANY(numbers);
    INSERT INTO sales_fact
    SELECT o.order_number, o.created_at, (o.created_at AT TIME ZONE 'UTC')::date, o.currency,
           o.product_id, s.size_type || ' ' || s.size, s.supplier, cp.brand,
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
           (x.sale AND o.stock_item_id IS NOT NULL)::int
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

CREATE FUNCTION sales_fact_on_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM sales_fact_refresh(ARRAY(SELECT order_number FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM sales_fact_refresh(ARRAY(SELECT order_number FROM old_rows));
    ELSE
        PERFORM sales_fact_refresh(ARRAY(
            SELECT n.order_number FROM new_rows n JOIN old_rows o USING (order_number)
            WHERE (n.status, n.created_at, n.currency, n.amount, n.net_proceeds, n.landed_cost,
                   n.profit, n.cancellation_fee, n.stock_item_id, n.product_id, n.variant_id)
                  IS DISTINCT FROM
                  (o.status, o.created_at, o.currency, o.amount, o.net_proceeds, o.landed_cost,
                   o.profit, o.cancellation_fee, o.stock_item_id, o.product_id, o.variant_id)));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sales_fact_order_insert AFTER INSERT ON "order"
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sales_fact_on_order();
CREATE TRIGGER sales_fact_order_update AFTER UPDATE ON "order"
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_fact_on_order();
CREATE TRIGGER sales_fact_order_delete AFTER DELETE ON "order"
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sales_fact_on_order();

CREATE FUNCTION sales_fact_on_unit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sales_fact_refresh(ARRAY(
        SELECT o.order_number FROM "order" o
        WHERE o.stock_item_id IN (
            SELECT n.id FROM new_rows n JOIN old_rows p USING (id)
            WHERE (n.size, n.size_type, n.supplier, n.purchased_at)
                  IS DISTINCT FROM (p.size, p.size_type, p.supplier, p.purchased_at))));
    RETURN NULL;
END
$$;
CREATE TRIGGER sales_fact_unit_update AFTER UPDATE ON stock_item
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_fact_on_unit();

-- Brand: an order's product is its variant's (catalog_variant) or else its own product id.
CREATE FUNCTION sales_fact_on_variant() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    variants text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        variants := ARRAY(SELECT stockx_variant_id FROM new_rows);
    ELSE
        variants := ARRAY(
            SELECT n.stockx_variant_id FROM new_rows n JOIN old_rows p USING (stockx_variant_id)
            WHERE n.stockx_product_id IS DISTINCT FROM p.stockx_product_id);
    END IF;
    PERFORM sales_fact_refresh(ARRAY(
        SELECT o.order_number FROM "order" o WHERE o.variant_id = ANY(variants)));
    RETURN NULL;
END
$$;
CREATE TRIGGER sales_fact_variant_insert AFTER INSERT ON catalog_variant
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sales_fact_on_variant();
CREATE TRIGGER sales_fact_variant_update AFTER UPDATE ON catalog_variant
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_fact_on_variant();

CREATE FUNCTION sales_fact_on_product() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    products text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        products := ARRAY(SELECT stockx_product_id FROM new_rows WHERE brand IS NOT NULL);
    ELSE
        products := ARRAY(
            SELECT n.stockx_product_id FROM new_rows n JOIN old_rows p USING (stockx_product_id)
            WHERE n.brand IS DISTINCT FROM p.brand);
    END IF;
    IF cardinality(products) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM sales_fact_refresh(ARRAY(
        SELECT o.order_number FROM "order" o
        WHERE o.variant_id IN (SELECT stockx_variant_id FROM catalog_variant
                               WHERE stockx_product_id = ANY(products))
        UNION
        SELECT o.order_number FROM "order" o WHERE o.product_id = ANY(products)));
    RETURN NULL;
END
$$;
CREATE TRIGGER sales_fact_product_insert AFTER INSERT ON catalog_product
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sales_fact_on_product();
CREATE TRIGGER sales_fact_product_update AFTER UPDATE ON catalog_product
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sales_fact_on_product();

SELECT sales_fact_refresh(ARRAY(SELECT order_number FROM "order"));
