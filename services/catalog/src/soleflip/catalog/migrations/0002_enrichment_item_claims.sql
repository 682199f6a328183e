-- Job items are claimed with a short UPDATE instead of a row lock held across StockX calls.
-- `claimed_by` names the runner working on the item: a key of the session-level advisory lock
-- that runner holds while it lives. A claim whose lock is free belongs to a dead runner.
ALTER TABLE enrichment_item ADD COLUMN claimed_by bigint;
