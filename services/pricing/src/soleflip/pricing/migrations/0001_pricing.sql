-- pricing schema (ARCHITECTURE.md section 7). Ids of variants and products are StockX's.

-- The latest observation per variant and currency: what strategies read and change detection
-- compares against.
CREATE TABLE market_latest (
    variant_id   text        NOT NULL,
    currency     text        NOT NULL,
    product_id   text,
    lowest_ask   numeric(12, 2),
    highest_bid  numeric(12, 2),
    sell_faster  numeric(12, 2),
    earn_more    numeric(12, 2),
    observed_at  timestamptz NOT NULL,
    changed_at   timestamptz NOT NULL,
    PRIMARY KEY (variant_id, currency)
);
CREATE INDEX market_latest_product ON market_latest (product_id);

-- The time series: one row per real change (repeats only move market_latest.observed_at).
CREATE TABLE market_snapshot (
    id           bigserial   PRIMARY KEY,
    variant_id   text        NOT NULL,
    currency     text        NOT NULL,
    product_id   text,
    lowest_ask   numeric(12, 2),
    highest_bid  numeric(12, 2),
    sell_faster  numeric(12, 2),
    earn_more    numeric(12, 2),
    observed_at  timestamptz NOT NULL,
    source       text        NOT NULL
);
CREATE INDEX market_snapshot_variant ON market_snapshot (variant_id, currency, observed_at DESC);

CREATE TABLE fee_schedule (
    id              bigserial   PRIMARY KEY,
    effective_from  timestamptz NOT NULL,
    schedule        jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fee_schedule_effective ON fee_schedule (effective_from DESC, id DESC);

CREATE TABLE rule (
    id          uuid        PRIMARY KEY,
    priority    integer     NOT NULL,
    body        jsonb       NOT NULL,
    version     integer     NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A single row: the global auto-reprice switch (off by default).
CREATE TABLE autoreprice (
    id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
    enabled     boolean     NOT NULL DEFAULT false,
    dry_run     boolean     NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO autoreprice (id) VALUES (true);

-- Mirrors of orders' listings and stock, and of catalog's products (brand, style id).
CREATE TABLE listing (
    listing_id       text        PRIMARY KEY,
    status           text        NOT NULL,
    variant_id       text,
    product_id       text,
    stock_item_id    bigint,
    amount           numeric(12, 2),
    currency         text,
    updated_at       timestamptz,
    last_reprice_at  timestamptz,
    pending_amount   numeric(12, 2),
    pending_since    timestamptz,
    halted_reason    text,
    -- The last recommendation's price and status: an unchanged one is not stored again.
    rec_price        numeric(12, 2),
    rec_status       text
);
CREATE INDEX listing_active_variant ON listing (variant_id) WHERE status = 'ACTIVE';

CREATE TABLE stock_item (
    stock_item_id  bigint      PRIMARY KEY,
    variant_id     text,
    listing_id     text,
    status         text        NOT NULL,
    unit_cost      numeric(12, 2) NOT NULL,
    currency       text        NOT NULL
);
CREATE INDEX stock_item_variant ON stock_item (variant_id) WHERE status = 'IN_STOCK';

CREATE TABLE variant (
    variant_id  text PRIMARY KEY,
    product_id  text NOT NULL,
    brand       text,
    style_id    text
);
CREATE INDEX variant_product ON variant (product_id);

CREATE TABLE recommendation (
    id            uuid        PRIMARY KEY,
    listing_id    text        NOT NULL,
    variant_id    text        NOT NULL,
    rule_id       uuid,
    strategy      text        NOT NULL,
    currency      text        NOT NULL,
    price         numeric(12, 2) NOT NULL,
    current       numeric(12, 2),
    floor         numeric(12, 2),
    payout        numeric(12, 2) NOT NULL,
    profit        numeric(12, 2),
    status        text        NOT NULL,
    reason        text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recommendation_listing ON recommendation (listing_id, created_at DESC);
CREATE INDEX recommendation_created ON recommendation (created_at DESC, id DESC);

CREATE TABLE sale_price (
    order_number  text        PRIMARY KEY,
    variant_id    text        NOT NULL,
    amount        numeric(12, 2) NOT NULL,
    currency      text        NOT NULL,
    sold_at       timestamptz NOT NULL
);
CREATE INDEX sale_price_variant ON sale_price (variant_id, sold_at DESC);
