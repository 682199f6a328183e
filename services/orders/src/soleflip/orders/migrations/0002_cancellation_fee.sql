-- DOMAIN.md: a sale the seller fails (did not ship) costs USD 15 or the local equivalent. The
-- charge lives in the fee schedule per currency (15 in each currency until the local amounts are
-- confirmed: edit the rows), and on the order that incurred it.
ALTER TABLE fee_schedule ADD COLUMN cancellation_fee numeric(14, 2) NOT NULL DEFAULT 15.00;
ALTER TABLE "order" ADD COLUMN cancellation_fee numeric(14, 2);
