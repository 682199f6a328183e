-- The figures each recommendation read (market and landed cost), so it explains itself later.
ALTER TABLE recommendation ADD COLUMN inputs jsonb NOT NULL DEFAULT '{}'::jsonb;
