-- A unit knows its StockX variant from the moment it is recorded (issue 13): style id and size
-- matched exactly against orders' copy of the catalog (`catalog.product.upserted`).
--   variant_status: resolved (variant_id set), pending (the catalog does not know it yet),
--   ambiguous (several variants fit: a person picks one with PATCH variant_id).
ALTER TABLE stock_item
    ADD COLUMN sku_keys       text[] NOT NULL DEFAULT '{}',
    ADD COLUMN variant_status text   NOT NULL DEFAULT 'pending';
ALTER TABLE stock_item DISABLE TRIGGER stock_item_audit;
UPDATE stock_item SET variant_status = 'resolved' WHERE variant_id IS NOT NULL;
-- Same keys as soleflip.common.matching.code_keys (upper case, letters and digits, per code).
UPDATE stock_item SET sku_keys = ARRAY(
    SELECT DISTINCT regexp_replace(upper(code), '[^0-9A-Z]', '', 'g')
    FROM regexp_split_to_table(sku, '[/,;|]') AS code
    WHERE regexp_replace(upper(code), '[^0-9A-Z]', '', 'g') <> '');
ALTER TABLE stock_item ENABLE TRIGGER stock_item_audit;
CREATE INDEX stock_item_variant_open ON stock_item (id) WHERE variant_status <> 'resolved';

-- Orders' copy of the catalog: each product's style keys and each variant's sizes.
CREATE TABLE catalog_product (
    stockx_product_id text   PRIMARY KEY,
    style_keys        text[] NOT NULL
);
CREATE INDEX catalog_product_keys ON catalog_product USING gin (style_keys);
CREATE TABLE catalog_size (
    stockx_product_id text NOT NULL,
    stockx_variant_id text NOT NULL,
    size_type         text NOT NULL,
    size_value        text NOT NULL,
    PRIMARY KEY (stockx_product_id, stockx_variant_id, size_type, size_value)
);
CREATE INDEX catalog_size_lookup ON catalog_size (size_type, size_value);

-- Which unit a sale of a variant takes: fifo (oldest purchase), lifo (newest), or specific
-- (none by itself: only the listing's own unit, or one linked by hand).
ALTER TABLE stock_settings
    ADD COLUMN link_strategy text NOT NULL DEFAULT 'fifo'
        CHECK (link_strategy IN ('fifo', 'lifo', 'specific'));
-- A link fixed by hand (PUT /api/v1/orders/{n}/stock-item) is never changed automatically.
ALTER TABLE "order" ADD COLUMN link_manual boolean NOT NULL DEFAULT false;
