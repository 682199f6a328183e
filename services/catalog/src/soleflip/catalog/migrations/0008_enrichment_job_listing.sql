-- `GET /api/v1/enrichment` pages through jobs newest first by (created_at, id).
CREATE INDEX enrichment_job_created_idx ON enrichment_job (created_at DESC, id DESC);
