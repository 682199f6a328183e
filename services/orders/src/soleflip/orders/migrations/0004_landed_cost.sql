-- Landed cost (issue 13): the parts of what a unit cost, and their sum as profit uses it.
--   landed_cost = unit_cost (as paid, VAT included) - vat_amount (only when the seller reclaims
--                 VAT) + inbound_cost (shipping to the seller) + other_cost
-- computed by `soleflip.orders.domain.landed_cost` on every write; NULL while the cost is
-- unknown (`cost_missing`, e.g. an adopted listing), which also holds auto-repricing.
ALTER TABLE stock_item
    ADD COLUMN vat_amount   numeric(14, 2) NOT NULL DEFAULT 0,
    ADD COLUMN vat_rate_pct numeric(5, 2)  NOT NULL DEFAULT 0,
    ADD COLUMN other_cost   numeric(14, 2) NOT NULL DEFAULT 0,
    ADD COLUMN cost_missing boolean        NOT NULL DEFAULT false,
    ADD COLUMN landed_cost  numeric(14, 2);
-- Filling the new column is no change of any unit: kept out of stock_history.
ALTER TABLE stock_item DISABLE TRIGGER stock_item_audit;
UPDATE stock_item SET landed_cost = unit_cost + inbound_cost;
ALTER TABLE stock_item ENABLE TRIGGER stock_item_audit;

-- The seller's stock settings: one row.
CREATE TABLE stock_settings (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    -- A VAT-registered seller gets the VAT of a purchase back: it is not part of the cost.
    vat_reclaimable boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO stock_settings DEFAULT VALUES;
