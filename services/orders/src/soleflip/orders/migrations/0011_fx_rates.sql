-- Currencies (issue 13): daily FX reference rates with their date and source, and profit of a
-- sale whose unit was bought in another currency. Rates are units of a currency per 1 EUR, as the
-- ECB quotes them (EUR itself is 1 and not stored); a later import of the same day and currency
-- replaces the figure (and its source).
CREATE TABLE fx_rate (
    rate_date    date           NOT NULL,
    currency     text           NOT NULL,
    rate         numeric(20, 8) NOT NULL CHECK (rate > 0),
    source       text           NOT NULL,
    recorded_at  timestamptz    NOT NULL DEFAULT now(),
    PRIMARY KEY (currency, rate_date)
);

-- Units of `cur` per EUR in force on `on_date`: the rate of that day, or the latest one of the 7
-- days before it (the ECB publishes on working days only); no row when there is none.
CREATE FUNCTION fx_per_eur(cur text, on_date date)
RETURNS TABLE (rate numeric, rate_date date)
LANGUAGE sql STABLE AS $$
    SELECT 1::numeric, on_date WHERE cur = 'EUR'
    UNION ALL
    (SELECT f.rate, f.rate_date FROM fx_rate f
     WHERE cur <> 'EUR' AND f.currency = cur
       AND f.rate_date <= on_date AND f.rate_date > on_date - 8
     ORDER BY f.rate_date DESC LIMIT 1)
$$;

-- What 1 unit of `from_cur` is worth in `to_cur` on `on_date` (the older of the two rate dates);
-- no row when a rate is missing.
CREATE FUNCTION fx_cross(from_cur text, to_cur text, on_date date)
RETURNS TABLE (rate numeric, rate_date date)
LANGUAGE sql STABLE AS $$
    SELECT t.rate / f.rate, least(f.rate_date, t.rate_date)
    FROM fx_per_eur(from_cur, on_date) f, fx_per_eur(to_cur, on_date) t
$$;

-- `amount` in `to_cur` on `on_date`, to the cent; NULL when a rate is missing.
CREATE FUNCTION fx_to(amount numeric, from_cur text, to_cur text, on_date date)
RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN from_cur = to_cur THEN amount
                ELSE (SELECT round(amount * x.rate, 2) FROM fx_cross(from_cur, to_cur, on_date) x)
           END
$$;

-- A sale whose unit was bought in another currency: its landed cost is converted into the sale
-- currency at the rate of the sale date (fx_rate, fx_rate_date); fx_status is 'converted', or
-- 'fx_missing' while no rate exists (then profit is NULL and says why). NULL: same currency.
ALTER TABLE "order"
    ADD COLUMN fx_status    text,
    ADD COLUMN fx_rate      numeric(20, 10),
    ADD COLUMN fx_rate_date date;
CREATE INDEX order_fx_pending ON "order" (order_number) WHERE fx_status IS NOT NULL;
