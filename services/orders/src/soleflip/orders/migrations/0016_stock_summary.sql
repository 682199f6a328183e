-- Inventory KPIs (/api/v1/reports/inventory) read pre-aggregated figures instead of every unit.
--
-- `stock_summary`: units, landed-cost value and units without a cost per (status, currency,
-- UTC purchase day). `held_by_variant`: the held units (IN_STOCK, LISTED; HELD_STATUSES in
-- soleflip.orders.queries._reports) per (variant, currency) with the units whose cost is known
-- and their cost, which value at market joins to `market_latest`. Statement triggers on
-- stock_item keep both exact in the transaction that changes a unit. A report reads the units
-- themselves only on the days where a window edge or an age-bucket boundary falls.
CREATE TABLE stock_summary (
    status       text NOT NULL,
    currency     text NOT NULL,
    day          date NOT NULL,
    units        bigint NOT NULL,
    value        numeric NOT NULL,
    cost_missing bigint NOT NULL,
    PRIMARY KEY (day, status, currency)
);
CREATE TABLE held_by_variant (
    variant_id   text NOT NULL,
    currency     text NOT NULL,
    units        bigint NOT NULL,
    units_costed bigint NOT NULL,
    cost         numeric NOT NULL,
    PRIMARY KEY (variant_id, currency)
);
CREATE INDEX stock_item_purchase_day ON stock_item (((purchased_at AT TIME ZONE 'UTC')::date));

-- What a unit adds to the summaries.
CREATE TYPE stock_summary_unit AS (
    status       text,
    currency     text,
    purchased_at timestamptz,
    landed_cost  numeric,
    cost_missing boolean,
    variant_id   text
);

-- Adds `sign` x `units` to both summaries.
CREATE FUNCTION stock_summary_add(units stock_summary_unit[], sign integer) RETURNS void
LANGUAGE sql AS $$
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
$$;

CREATE FUNCTION stock_summary_on_unit() RETURNS trigger LANGUAGE plpgsql AS $$
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
            SELECT (o.status, o.currency, o.purchased_at, o.landed_cost, o.cost_missing,
                    o.variant_id)::stock_summary_unit
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE (n.status, n.currency, n.purchased_at, n.landed_cost, n.cost_missing,
                   n.variant_id)
                  IS DISTINCT FROM
                  (o.status, o.currency, o.purchased_at, o.landed_cost, o.cost_missing,
                   o.variant_id)), -1);
        PERFORM stock_summary_add(ARRAY(
            SELECT (n.status, n.currency, n.purchased_at, n.landed_cost, n.cost_missing,
                    n.variant_id)::stock_summary_unit
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE (n.status, n.currency, n.purchased_at, n.landed_cost, n.cost_missing,
                   n.variant_id)
                  IS DISTINCT FROM
                  (o.status, o.currency, o.purchased_at, o.landed_cost, o.cost_missing,
                   o.variant_id)), 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER stock_summary_insert AFTER INSERT ON stock_item
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stock_summary_on_unit();
CREATE TRIGGER stock_summary_update AFTER UPDATE ON stock_item
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stock_summary_on_unit();
CREATE TRIGGER stock_summary_delete AFTER DELETE ON stock_item
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stock_summary_on_unit();

SELECT stock_summary_add(ARRAY(
    SELECT (status, currency, purchased_at, landed_cost, cost_missing,
            variant_id)::stock_summary_unit FROM stock_item), 1);
