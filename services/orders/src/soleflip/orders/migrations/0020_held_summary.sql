-- Sales by size and by supplier read the units held now from a summary instead of every unit
-- (each row's sell-through, 2fd0891, had them counted from `stock_item` on every request).
--
-- `held_summary`: the held units (IN_STOCK, LISTED; HELD_STATUSES in
-- soleflip.orders.queries._reports) per (dim, key, currency), keyed as the sales summary keys
-- its groups: dim `period` (key null: every held unit of the currency), `size` (the unit's
-- size type and size) and `supplier` (the unit's supplier_id as text, null for none). Product
-- and brand keep reading `held_by_variant` (0016) through the catalog copy. Statement triggers
-- on stock_item keep it exact in the transaction that changes a unit; a change that neither
-- makes a unit held nor ends its being held, nor moves a held unit's keys (IN_STOCK to
-- LISTED, a cost or a location) writes nothing.
CREATE TABLE held_summary (
    dim      text NOT NULL,
    key      text,
    currency text NOT NULL,
    units    bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (dim, key, currency)
);

-- A unit's keys and whether it comes (1) or goes (-1).
CREATE TYPE held_summary_unit AS (
    status      text,
    currency    text,
    size_key    text,
    supplier_id bigint,
    sign        integer
);

-- Adds the held ones of `units` (each x its sign) to the summary.
CREATE FUNCTION held_summary_add(units held_summary_unit[]) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
INSERT INTO held_summary AS t (dim, key, currency, units)
SELECT d.dim, d.key, u.currency, sum(u.sign)
FROM unnest(units) AS u
CROSS JOIN LATERAL (VALUES ('period', NULL), ('size', u.size_key),
                           ('supplier', u.supplier_id::text)) AS d (dim, key)
WHERE u.status IN ('IN_STOCK', 'LISTED')
GROUP BY 1, 2, 3
HAVING sum(u.sign) <> 0  -- a held unit that moved between sizes leaves its period row alone
ORDER BY 1, 3, 2  -- one lock order for every writer
ON CONFLICT (dim, key, currency) DO UPDATE SET units = t.units + excluded.units;
END
$$;

CREATE FUNCTION held_summary_on_unit() RETURNS trigger LANGUAGE plpgsql
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
            SELECT v.unit
            FROM old_rows o JOIN new_rows n USING (id)
            CROSS JOIN LATERAL (VALUES
                ((o.status, o.currency, o.size_type || ' ' || o.size, o.supplier_id,
                  -1)::held_summary_unit),
                ((n.status, n.currency, n.size_type || ' ' || n.size, n.supplier_id,
                  1)::held_summary_unit)) AS v (unit)
            WHERE (n.status IN ('IN_STOCK', 'LISTED'), n.currency, n.size_type, n.size,
                   n.supplier_id)
                  IS DISTINCT FROM
                  (o.status IN ('IN_STOCK', 'LISTED'), o.currency, o.size_type, o.size,
                   o.supplier_id)));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER held_summary_insert AFTER INSERT ON stock_item
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION held_summary_on_unit();
CREATE TRIGGER held_summary_update AFTER UPDATE ON stock_item
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION held_summary_on_unit();
CREATE TRIGGER held_summary_delete AFTER DELETE ON stock_item
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION held_summary_on_unit();

SELECT held_summary_add(ARRAY(
    SELECT (status, currency, size_type || ' ' || size, supplier_id, 1)::held_summary_unit
    FROM stock_item WHERE status IN ('IN_STOCK', 'LISTED')));
