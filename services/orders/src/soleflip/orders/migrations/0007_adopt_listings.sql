-- Adopting listings made outside SoleFlip (issue 13): a unit per active listing that has none.
-- The listing's own style id and size label (as StockX sends them) describe the adopted unit.
ALTER TABLE listing
    ADD COLUMN style_id      text,
    ADD COLUMN variant_value text;
