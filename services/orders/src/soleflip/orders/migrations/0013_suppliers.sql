-- Suppliers (issue 14 item 5): where units were bought, as entities (name, kind, notes) that
-- stock units reference. A unit keeps its `supplier` text as the entity's name, so filters,
-- reports and exports that read the text still work; the trigger below keeps both in step.
CREATE TABLE supplier (
    id         bigserial   PRIMARY KEY,
    name       text        NOT NULL CHECK (btrim(name) <> ''),
    -- retail (a shop, a raffle), private (a person), auction (eBay and the like); NULL: not
    -- said yet (every supplier created from a unit's text starts so).
    kind       text        CHECK (kind IN ('retail', 'private', 'auction')),
    notes      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- One supplier per name, whatever its case or surrounding blanks.
CREATE UNIQUE INDEX supplier_name ON supplier (lower(btrim(name)));

ALTER TABLE stock_item ADD COLUMN supplier_id bigint REFERENCES supplier (id);
CREATE INDEX stock_item_supplier ON stock_item (supplier_id, purchased_at);

-- The free-text values become suppliers (the first spelling by id wins the entity's name).
INSERT INTO supplier (name)
SELECT DISTINCT ON (lower(btrim(supplier))) btrim(supplier)
FROM stock_item WHERE btrim(supplier) <> ''
ORDER BY lower(btrim(supplier)), id
ON CONFLICT DO NOTHING;
ALTER TABLE stock_item DISABLE TRIGGER stock_item_audit;
UPDATE stock_item s SET supplier_id = p.id
FROM supplier p WHERE lower(btrim(s.supplier)) = lower(btrim(p.name));
ALTER TABLE stock_item ENABLE TRIGGER stock_item_audit;

-- Every write path of a unit (purchase event, POST, import, adoption, PATCH) names its supplier
-- by text or by id; this keeps the two in step: a new `supplier_id` sets the text to the
-- entity's name; a new text finds the supplier of that name, or creates it.
CREATE FUNCTION stock_item_supplier() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    key text := lower(btrim(NEW.supplier));
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.supplier_id IS DISTINCT FROM OLD.supplier_id
       AND NEW.supplier_id IS NOT NULL THEN
        SELECT name INTO NEW.supplier FROM supplier WHERE id = NEW.supplier_id;
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' AND NEW.supplier_id IS NOT NULL THEN
        SELECT name INTO NEW.supplier FROM supplier WHERE id = NEW.supplier_id;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.supplier IS NOT DISTINCT FROM OLD.supplier THEN
        RETURN NEW;
    END IF;
    IF key IS NULL OR key = '' THEN
        NEW.supplier_id := NULL;
        RETURN NEW;
    END IF;
    INSERT INTO supplier (name) VALUES (btrim(NEW.supplier)) ON CONFLICT DO NOTHING;
    SELECT id INTO NEW.supplier_id FROM supplier WHERE lower(btrim(name)) = key;
    RETURN NEW;
END
$$;
CREATE TRIGGER stock_item_supplier BEFORE INSERT OR UPDATE OF supplier, supplier_id
    ON stock_item FOR EACH ROW EXECUTE FUNCTION stock_item_supplier();

-- BI: the unit's supplier entity on the inventory and sales views (columns appended).
CREATE OR REPLACE VIEW v_inventory AS
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
       s.updated_at,
       cp.title                              AS product_title,
       cp.brand,
       coalesce(cp.style_id, s.sku)          AS style_id,
       cp.colorway,
       cp.image_url,
       s.supplier_id,
       sp.kind                               AS supplier_kind
FROM stock_item s
LEFT JOIN catalog_variant cv ON cv.stockx_variant_id = s.variant_id
LEFT JOIN catalog_product cp ON cp.stockx_product_id = cv.stockx_product_id
LEFT JOIN supplier sp ON sp.id = s.supplier_id;

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
       cp.title                              AS product_title,
       cp.brand,
       coalesce(cp.style_id, s.sku)          AS style_id,
       cp.colorway,
       cp.image_url,
       cv.size_type                          AS variant_size_type,
       cv.size_value                         AS variant_size,
       s.supplier_id,
       sp.kind                               AS supplier_kind
FROM "order" o
LEFT JOIN stock_item s ON s.id = o.stock_item_id
LEFT JOIN catalog_variant cv ON cv.stockx_variant_id = o.variant_id
LEFT JOIN catalog_product cp ON cp.stockx_product_id = coalesce(cv.stockx_product_id, o.product_id)
LEFT JOIN supplier sp ON sp.id = s.supplier_id;
