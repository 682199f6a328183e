-- A stock item's cost may be unknown (orders' `cost_missing`, e.g. an adopted listing): NULL
-- here, so its listing has no floor and is held instead of auto-repriced.
ALTER TABLE stock_item ALTER COLUMN unit_cost DROP NOT NULL;
