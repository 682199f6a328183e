-- Variants StockX no longer lists are retired, never deleted: other services hold their ids.
-- Lookups by size and GTIN and a product's variant list leave retired variants out; a variant
-- that comes back is live again.
ALTER TABLE variant ADD COLUMN retired_at timestamptz;
