-- The orders schema (ARCHITECTURE.md section 7): stock, listings and their operations, orders
-- with fees and profit, the status history, and the fee schedule with effective dates.

CREATE TABLE stock_item (
    id            bigserial   PRIMARY KEY,
    -- A purchase of quantity n becomes n units: (external_id, unit) makes re-delivery a no-op.
    external_id   text        NOT NULL,
    unit          integer     NOT NULL,
    sku           text        NOT NULL,
    size          text        NOT NULL,
    size_type     text        NOT NULL,
    variant_id    text,
    unit_cost     numeric(14, 2) NOT NULL,
    inbound_cost  numeric(14, 2) NOT NULL DEFAULT 0,
    currency      text        NOT NULL,
    supplier      text        NOT NULL,
    purchased_at  timestamptz NOT NULL,
    status        text        NOT NULL DEFAULT 'IN_STOCK',
    listing_id    text,
    order_number  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (external_id, unit)
);
CREATE INDEX stock_item_variant_free ON stock_item (variant_id, id) WHERE status = 'IN_STOCK';
CREATE INDEX stock_item_listing ON stock_item (listing_id) WHERE listing_id IS NOT NULL;

CREATE TABLE listing (
    listing_id        text        PRIMARY KEY,
    status            text        NOT NULL,
    status_rank       integer     NOT NULL,
    variant_id        text,
    product_id        text,
    stock_item_id     bigint,
    amount            numeric(14, 2),
    currency          text,
    inventory_type    text,
    expires_at        timestamptz,
    order_number      text,
    created_at        timestamptz,
    updated_at        timestamptz NOT NULL,
    last_operation_id text,
    synced_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX listing_status ON listing (status, listing_id);

CREATE TABLE listing_operation (
    operation_id text        PRIMARY KEY,
    listing_id   text        NOT NULL,
    kind         text        NOT NULL,
    status       text        NOT NULL,
    batch_id     text,
    request      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error        text,
    attempts     integer     NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    settled_at   timestamptz
);
-- The settler only ever scans unsettled operations.
CREATE INDEX listing_operation_pending ON listing_operation (created_at) WHERE settled_at IS NULL;

CREATE TABLE "order" (
    order_number     text        PRIMARY KEY,
    status           text        NOT NULL,
    status_rank      integer     NOT NULL,
    listing_id       text,
    stock_item_id    bigint,
    variant_id       text,
    product_id       text,
    amount           numeric(14, 2),
    currency         text,
    inventory_type   text,
    payout           jsonb,
    shipment         jsonb,
    transaction_fee  numeric(14, 2),
    processing_fee   numeric(14, 2),
    shipping_fee     numeric(14, 2),
    net_proceeds     numeric(14, 2),
    fees_source      text,
    landed_cost      numeric(14, 2),
    profit           numeric(14, 2),
    roi              numeric(10, 4),
    created_at       timestamptz,
    updated_at       timestamptz NOT NULL,
    synced_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_created ON "order" (created_at DESC, order_number DESC);
CREATE INDEX order_status ON "order" (status);
CREATE INDEX order_unlinked ON "order" (variant_id) WHERE stock_item_id IS NULL;

CREATE TABLE order_status_history (
    id              bigserial   PRIMARY KEY,
    order_number    text        NOT NULL,
    status          text        NOT NULL,
    -- StockX's updatedAt of the snapshot that reported the status (the previous status is the
    -- row before in changed_at order: late facts may arrive after later ones).
    changed_at      timestamptz NOT NULL,
    source          text        NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    -- A status entered at one moment is one fact, whichever path (webhook, poll) reports it.
    UNIQUE (order_number, status, changed_at)
);

CREATE TABLE fee_schedule (
    currency         text          NOT NULL,
    effective_from   date          NOT NULL,
    seller_level     integer       NOT NULL DEFAULT 1,
    transaction_rate numeric(6, 4) NOT NULL,
    minimum_fee      numeric(14, 2) NOT NULL,
    processing_rate  numeric(6, 4) NOT NULL,
    shipping_fee     numeric(14, 2) NOT NULL,
    PRIMARY KEY (currency, effective_from)
);

-- DOMAIN.md's schedule since the July 2023 change: level 1 (9 %), 3 % processing, the regional
-- minimum transaction fee and the shipping deduction. '*' is any other currency.
INSERT INTO fee_schedule
    (currency, effective_from, transaction_rate, minimum_fee, processing_rate, shipping_fee)
VALUES
    ('EUR', '2023-07-01', 0.09, 5.00, 0.03, 10.00),
    ('GBP', '2023-07-01', 0.09, 5.00, 0.03, 8.00),
    ('USD', '2023-07-01', 0.09, 10.00, 0.03, 4.00),
    ('CHF', '2023-07-01', 0.09, 4.50, 0.03, 10.00),
    ('AUD', '2023-07-01', 0.09, 7.50, 0.03, 10.00),
    ('CAD', '2023-07-01', 0.09, 7.00, 0.03, 10.00),
    ('*',   '2023-07-01', 0.09, 10.00, 0.03, 10.00);
