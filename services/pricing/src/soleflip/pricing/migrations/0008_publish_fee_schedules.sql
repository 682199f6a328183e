-- Orders keeps a copy of the fee schedules (pricing.fees.updated). Schedules stored before that
-- event existed are published once here, through the outbox, so the copy starts complete.
INSERT INTO outbox (event_id, subject, payload, headers)
SELECT 'pricing-fees-' || id,
       'pricing.fees.updated',
       convert_to(jsonb_build_object(
           'specversion', '1.0',
           'id', 'pricing-fees-' || id,
           'source', 'soleflip.pricing',
           'type', 'pricing.fees.updated',
           'time', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'datacontenttype', 'application/json',
           'data', jsonb_build_object('schedule_id', id, 'schedule', schedule))::text, 'UTF8'),
       '{"ce-type": "pricing.fees.updated"}'::jsonb
FROM fee_schedule
ORDER BY id
ON CONFLICT (event_id) DO NOTHING;
