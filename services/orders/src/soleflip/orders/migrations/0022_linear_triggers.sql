-- The summary triggers of an UPDATE found what changed by joining the statement's transition
-- tables (`new_rows JOIN old_rows USING (key)`). Postgres estimates one row for a transition
-- table, so it planned that join as a nested loop: n x n row comparisons per statement. A batch
-- of 1,000 order updates spent 139-155 ms of its 180 ms upsert in that join (auto_explain:
-- "Rows Removed by Join Filter: 999000"); a bulk stock update paid the same in three triggers.
--
-- Each trigger now asks set questions, which Postgres answers by hashing or sorting, never by a
-- nested loop, whatever the estimate:
-- * the keys whose compared columns changed: the new rows' (key, columns) EXCEPT the old rows';
--   EXCEPT compares as IS NOT DISTINCT FROM does (nulls equal), as the join's filter did;
-- * a summary's deltas: the old rows' units EXCEPT ALL the new rows' (taken away) and the new
--   rows' EXCEPT ALL the old rows' (added). A unit that did not change is in both and cancels;
--   so does a pair of units that swapped keys, which the summary's sums could not tell apart.
--   The sums come out as the per-row comparison's did;
-- * the held summary: every old unit taken away and every new one added; its writer sums per
--   group and writes only the groups whose sum is not zero, so unchanged units write nothing.

CREATE OR REPLACE FUNCTION sales_fact_on_order() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM sales_fact_refresh(ARRAY(SELECT order_number FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM sales_fact_refresh(ARRAY(SELECT order_number FROM old_rows));
    ELSE
        PERFORM sales_fact_refresh(ARRAY(
            SELECT order_number FROM (
                SELECT order_number, status, created_at, currency, amount, net_proceeds,
                       landed_cost, profit, cancellation_fee, stock_item_id, product_id,
                       variant_id
                FROM new_rows
                EXCEPT
                SELECT order_number, status, created_at, currency, amount, net_proceeds,
                       landed_cost, profit, cancellation_fee, stock_item_id, product_id,
                       variant_id
                FROM old_rows) AS changed));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION sales_fact_on_unit() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM sales_fact_refresh(ARRAY(
        SELECT o.order_number FROM "order" o
        WHERE o.stock_item_id IN (
            SELECT id FROM (
                SELECT id, size, size_type, supplier, supplier_id, purchased_at FROM new_rows
                EXCEPT
                SELECT id, size, size_type, supplier, supplier_id, purchased_at FROM old_rows
            ) AS changed)));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION sales_fact_on_variant() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    variants text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        variants := ARRAY(SELECT stockx_variant_id FROM new_rows);
    ELSE
        variants := ARRAY(
            SELECT stockx_variant_id FROM (
                SELECT stockx_variant_id, stockx_product_id FROM new_rows
                EXCEPT
                SELECT stockx_variant_id, stockx_product_id FROM old_rows) AS changed);
    END IF;
    PERFORM sales_fact_refresh(ARRAY(
        SELECT o.order_number FROM "order" o WHERE o.variant_id = ANY(variants)));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION sales_fact_on_product() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    products text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        products := ARRAY(SELECT stockx_product_id FROM new_rows WHERE brand IS NOT NULL);
    ELSE
        products := ARRAY(
            SELECT stockx_product_id FROM (
                SELECT stockx_product_id, brand FROM new_rows
                EXCEPT
                SELECT stockx_product_id, brand FROM old_rows) AS changed);
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

CREATE OR REPLACE FUNCTION stock_summary_on_unit() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM stock_summary_add(ARRAY(
            SELECT (status, currency, purchased_at, landed_cost, cost_missing,
                    variant_id)::stock_summary_unit FROM new_rows), 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM stock_summary_add(ARRAY(
            SELECT (status, currency, purchased_at, landed_cost, cost_missing,
                    variant_id)::stock_summary_unit FROM old_rows), -1);
    ELSE
        PERFORM stock_summary_add(ARRAY(
            SELECT (status, currency, purchased_at, landed_cost, cost_missing,
                    variant_id)::stock_summary_unit FROM (
                SELECT status, currency, purchased_at, landed_cost, cost_missing, variant_id
                FROM old_rows
                EXCEPT ALL
                SELECT status, currency, purchased_at, landed_cost, cost_missing, variant_id
                FROM new_rows) AS gone), -1);
        PERFORM stock_summary_add(ARRAY(
            SELECT (status, currency, purchased_at, landed_cost, cost_missing,
                    variant_id)::stock_summary_unit FROM (
                SELECT status, currency, purchased_at, landed_cost, cost_missing, variant_id
                FROM new_rows
                EXCEPT ALL
                SELECT status, currency, purchased_at, landed_cost, cost_missing, variant_id
                FROM old_rows) AS came), 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION supplier_summary_on_unit() RETURNS trigger LANGUAGE plpgsql
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
            SELECT (supplier_id, currency, purchased_at, landed_cost,
                    cost_missing)::supplier_summary_unit FROM (
                SELECT supplier_id, currency, purchased_at, landed_cost, cost_missing
                FROM old_rows
                EXCEPT ALL
                SELECT supplier_id, currency, purchased_at, landed_cost, cost_missing
                FROM new_rows) AS gone), -1);
        PERFORM supplier_bought_add(ARRAY(
            SELECT (supplier_id, currency, purchased_at, landed_cost,
                    cost_missing)::supplier_summary_unit FROM (
                SELECT supplier_id, currency, purchased_at, landed_cost, cost_missing
                FROM new_rows
                EXCEPT ALL
                SELECT supplier_id, currency, purchased_at, landed_cost, cost_missing
                FROM old_rows) AS came), 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION held_summary_on_unit() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM held_summary_add(ARRAY(
            SELECT (status, currency, size_type || ' ' || size, supplier_id,
                    1)::held_summary_unit FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM held_summary_add(ARRAY(
            SELECT (status, currency, size_type || ' ' || size, supplier_id,
                    -1)::held_summary_unit FROM old_rows));
    ELSE
        PERFORM held_summary_add(ARRAY(
            SELECT (status, currency, size_type || ' ' || size, supplier_id,
                    -1)::held_summary_unit FROM old_rows
            UNION ALL
            SELECT (status, currency, size_type || ' ' || size, supplier_id,
                    1)::held_summary_unit FROM new_rows));
    END IF;
    RETURN NULL;
END
$$;
