-- Stock unit lifecycle (issue 13): where a unit is, its condition and notes, and every change
-- of a unit kept in `stock_history` with who or what made it.
--
-- States: ORDERED (bought, not received), IN_STOCK, LISTED, SOLD, SHIPPED, RETURNED,
-- WRITTEN_OFF, KEPT. The allowed manual moves live in `soleflip.orders.domain`; sales, listings
-- and StockX order statuses move units too.
ALTER TABLE stock_item
    ADD COLUMN location  text,
    ADD COLUMN condition text NOT NULL DEFAULT 'new',
    ADD COLUMN notes     text;

CREATE TABLE stock_history (
    id              bigserial   PRIMARY KEY,
    stock_item_id   bigint      NOT NULL,
    status          text        NOT NULL,
    previous_status text,
    -- The other columns that changed: {"column": [old, new]}.
    changes         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- The path: api, webhook, poll, import, adopt (or system for a bare SQL edit).
    source          text        NOT NULL,
    -- The API token's name when a person or a script changed it.
    actor           text,
    -- What happened: purchase, listed, delisted, sale, shipped, sale fell through, edit, ...
    reason          text,
    changed_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX stock_history_item ON stock_history (stock_item_id, id);

-- One trigger instead of a history insert next to every statement that changes a unit: no
-- path (a sale linked in a batch, a listing that ended, a PATCH) can forget it. The writer
-- names itself for the transaction with set_config('soleflip.stock_source' | '_actor' |
-- '_reason', ..., true); see `repository.stock_context`.
-- `SET search_path FROM CURRENT`: the function finds its table whatever the caller's path.
CREATE FUNCTION stock_item_audit() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    diff jsonb := '{}'::jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_array(o.value, n.value)), '{}')
        INTO diff
        FROM jsonb_each(to_jsonb(NEW)) AS n
        JOIN jsonb_each(to_jsonb(OLD)) AS o USING (key)
        WHERE n.value IS DISTINCT FROM o.value
          AND n.key NOT IN ('status', 'updated_at', 'created_at');
        IF diff = '{}'::jsonb AND NEW.status = OLD.status THEN
            RETURN NEW;
        END IF;
    END IF;
    INSERT INTO stock_history (stock_item_id, status, previous_status, changes, source, actor,
                               reason)
    VALUES (NEW.id, NEW.status, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, diff,
            coalesce(nullif(current_setting('soleflip.stock_source', true), ''), 'system'),
            nullif(current_setting('soleflip.stock_actor', true), ''),
            nullif(current_setting('soleflip.stock_reason', true), ''));
    RETURN NEW;
END
$$;
CREATE TRIGGER stock_item_audit AFTER INSERT OR UPDATE ON stock_item
    FOR EACH ROW EXECUTE FUNCTION stock_item_audit();

-- Free units for a sale of their variant: in stock, or bought and on their way.
DROP INDEX stock_item_variant_free;
CREATE INDEX stock_item_variant_free ON stock_item (variant_id, purchased_at, id)
    WHERE status IN ('IN_STOCK', 'ORDERED') AND order_number IS NULL;
CREATE INDEX stock_item_purchased ON stock_item (purchased_at, id);
