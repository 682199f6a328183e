-- When a product's stored snapshot was current at its source: the CloudEvents `time` of a
-- relayed product, or the moment an API fetch was asked. A write older than it is dropped, so a
-- late event cannot move a product backwards (StockX products carry no `updatedAt`). NULL on
-- rows stored before this column: any write replaces them.
ALTER TABLE product ADD COLUMN source_time timestamptz;
