-- The catalog: brands, products with all their style codes, variants with structured sizes and
-- GTINs, and batch enrichment jobs. Plain btree/GIN indexes only: the service role may not
-- create extensions, and full-text search ('simple' config) is built in.

CREATE TABLE brand (
    id         bigserial   PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE product (
    id                uuid          PRIMARY KEY,
    stockx_product_id text          NOT NULL UNIQUE,
    style_id          text,
    title             text          NOT NULL,
    brand_id          bigint        REFERENCES brand (id),
    brand             text,
    product_type      text,
    gender            text,
    colorway          text,
    color             text,
    season            text,
    url_key           text,
    retail_price      numeric(12, 2),
    retail_currency   text          NOT NULL DEFAULT 'USD',
    release_date      date,
    default_size_type text,
    attributes        jsonb         NOT NULL DEFAULT '{}',
    search            tsvector      GENERATED ALWAYS AS (
        -- punctuation becomes a word break, so "DD1391-100" is found by "dd1391 100" too
        to_tsvector('simple', regexp_replace(lower(
            coalesce(title, '') || ' ' || coalesce(brand, '') || ' ' || coalesce(colorway, '')
            || ' ' || coalesce(style_id, '')), '[^[:alnum:]]+', ' ', 'g'))
    ) STORED,
    last_enriched_at  timestamptz   NOT NULL DEFAULT now(),
    created_at        timestamptz   NOT NULL DEFAULT now(),
    updated_at        timestamptz   NOT NULL DEFAULT now(),
    version           integer       NOT NULL DEFAULT 1
);
CREATE INDEX product_title_idx ON product (title, id);
CREATE INDEX product_brand_idx ON product (lower(brand), title, id);
CREATE INDEX product_search_idx ON product USING gin (search);
CREATE INDEX product_enriched_idx ON product (last_enriched_at);

-- Every code of a product ("315122-111/CW2288-111" is two rows), keyed without punctuation.
CREATE TABLE style_code (
    code_key   text NOT NULL,
    product_id uuid NOT NULL REFERENCES product (id) ON DELETE CASCADE,
    code       text NOT NULL,
    PRIMARY KEY (code_key, product_id)
);
CREATE INDEX style_code_product_idx ON style_code (product_id);

CREATE TABLE variant (
    id                uuid        PRIMARY KEY,
    stockx_variant_id text        NOT NULL UNIQUE,
    product_id        uuid        NOT NULL REFERENCES product (id) ON DELETE CASCADE,
    variant_name      text,
    variant_value     text,
    default_size_type text,
    flex_eligible     boolean,
    direct_eligible   boolean,
    position          integer     NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX variant_product_idx ON variant (product_id, position);

-- Structured (type, value) pairs; a label that repeats in a product yields two rows with the
-- same (product, type, value), which the lookup reports as ambiguous.
CREATE TABLE variant_size (
    variant_id uuid NOT NULL REFERENCES variant (id) ON DELETE CASCADE,
    product_id uuid NOT NULL,
    size_type  text NOT NULL,
    size_value text NOT NULL,
    label      text NOT NULL,
    PRIMARY KEY (variant_id, size_type, size_value)
);
CREATE INDEX variant_size_lookup_idx ON variant_size (product_id, size_type, size_value);

CREATE TABLE variant_gtin (
    gtin       text PRIMARY KEY,
    variant_id uuid NOT NULL REFERENCES variant (id) ON DELETE CASCADE,
    gtin_type  text
);
CREATE INDEX variant_gtin_variant_idx ON variant_gtin (variant_id);

CREATE TABLE enrichment_job (
    id          uuid        PRIMARY KEY,
    status      text        NOT NULL DEFAULT 'pending',
    source      text        NOT NULL DEFAULT 'api',
    total       integer     NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX enrichment_job_open_idx ON enrichment_job (created_at) WHERE status <> 'done';

-- One row per SKU; a finished row is never worked on again, which makes a job resumable.
CREATE TABLE enrichment_item (
    job_id       uuid        NOT NULL REFERENCES enrichment_job (id) ON DELETE CASCADE,
    position     integer     NOT NULL,
    sku          text        NOT NULL,
    status       text        NOT NULL DEFAULT 'pending',
    product_id   uuid,
    candidates   jsonb       NOT NULL DEFAULT '[]',
    detail       text,
    stockx_calls integer     NOT NULL DEFAULT 0,
    finished_at  timestamptz,
    PRIMARY KEY (job_id, position)
);
CREATE INDEX enrichment_item_pending_idx ON enrichment_item (job_id, position)
    WHERE status = 'pending';
