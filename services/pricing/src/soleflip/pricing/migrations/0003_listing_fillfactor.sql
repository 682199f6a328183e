-- Every re-evaluation rewrites a listing's rec_price/rec_status and reprice bookkeeping: room on
-- each page lets those updates stay heap-only (no index writes), the hot path of a full sweep.
ALTER TABLE listing SET (fillfactor = 70);
