-- Value at market (issue 14): orders keeps the latest market of each variant from pricing's
-- `pricing.market.updated` (consumer `orders-market`), one row per (variant, currency); an
-- older observation never replaces a newer one. The inventory report values held units at the
-- lowest ask and the highest bid of their variant in the unit's currency.
CREATE TABLE market_latest (
    variant_id  text NOT NULL,
    currency    text NOT NULL,
    product_id  text,
    lowest_ask  numeric(12,2),
    highest_bid numeric(12,2),
    observed_at timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (variant_id, currency)
);
