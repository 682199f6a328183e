-- One fee schedule: pricing owns it (GET|PUT /api/v1/fees) and publishes every schedule it stores
-- as pricing.fees.updated; this table becomes a copy of those, keyed on pricing's id. Orders' own
-- per-currency rows (with defaults that differed from pricing's) are dropped: without any copied
-- schedule, both services use the same code default (soleflip.common.fees, docs/fees.md).
DROP TABLE fee_schedule;
CREATE TABLE fee_schedule (
    schedule_id     bigint      PRIMARY KEY,
    effective_from  timestamptz NOT NULL,
    schedule        jsonb       NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now()
);
