-- Payout dates stored on the order row instead of computed per request (docs/payouts.md): the
-- pending list computed, per pending order, the first authenticated and the first paid status
-- from `order_status_history` and sorted by the result.
--
-- * "order".authenticated_at: the first time the order was seen AUTHENTICATED or PAYOUTPENDING
--   (AUTHENTICATED_STATUSES in soleflip.orders.domain; a unit test compares), from its history.
-- * "order".payout_received_at: the first time it was seen PAYOUTCOMPLETED or COMPLETED
--   (PAID_STATUSES): the received date.
-- * "order".payout_expected_at (generated): null once paid, else authentication + 2 days, or
--   the sale + 10 days before authentication (PAYOUT_AFTER_AUTH_DAYS, PAYOUT_AFTER_SALE_DAYS),
--   in UTC days.
-- A statement trigger on order_status_history keeps the two times in the transaction that writes
-- the history, whatever order the entries arrive in; a repeated or later entry changes nothing.
ALTER TABLE "order"
    ADD COLUMN authenticated_at   timestamptz,
    ADD COLUMN payout_received_at timestamptz;

UPDATE "order" o SET authenticated_at = h.authenticated_at, payout_received_at = h.paid_at
FROM (
    SELECT order_number,
           min(changed_at) FILTER (WHERE status IN ('AUTHENTICATED', 'PAYOUTPENDING'))
               AS authenticated_at,
           min(changed_at) FILTER (WHERE status IN ('COMPLETED', 'PAYOUTCOMPLETED')) AS paid_at
    FROM order_status_history
    WHERE status IN ('AUTHENTICATED', 'PAYOUTPENDING', 'COMPLETED', 'PAYOUTCOMPLETED')
    GROUP BY order_number
) h
WHERE h.order_number = o.order_number;

ALTER TABLE "order" ADD COLUMN payout_expected_at timestamptz GENERATED ALWAYS AS (
    CASE WHEN status IN ('COMPLETED', 'PAYOUTCOMPLETED') THEN NULL
         ELSE coalesce(timezone('UTC', timezone('UTC', authenticated_at) + interval '2 days'),
                       timezone('UTC', timezone('UTC', coalesce(created_at, updated_at))
                                       + interval '10 days'))
    END) STORED;

-- The pending list's filter (neither fallen through nor paid: NO_SALE_STATUSES | PAID_STATUSES,
-- written as soleflip.orders.queries._payouts writes it) and order.
CREATE INDEX order_payout_pending ON "order" (payout_expected_at, order_number)
WHERE status <> ALL (ARRAY['AUTHFAILED', 'CANCELED', 'CCAUTHORIZATIONFAILED', 'COMPLETED',
                           'DIDNOTSHIP', 'DONOTSHIP', 'PAYOUTCOMPLETED', 'RETURNED']::text[]);

-- Sets the two times of the orders `numbers` from their whole history (an entry changed or
-- removed may have been the first).
CREATE FUNCTION order_payout_times_refresh(numbers text[]) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
UPDATE "order" o SET authenticated_at = h.authenticated_at, payout_received_at = h.paid_at
FROM (
    SELECT n.order_number,
           (SELECT min(changed_at) FROM order_status_history
            WHERE order_number = n.order_number AND status IN ('AUTHENTICATED', 'PAYOUTPENDING'))
               AS authenticated_at,
           (SELECT min(changed_at) FROM order_status_history
            WHERE order_number = n.order_number AND status IN ('COMPLETED', 'PAYOUTCOMPLETED'))
               AS paid_at
    FROM unnest(numbers) AS n (order_number)
) h
WHERE h.order_number = o.order_number
  AND (o.authenticated_at, o.payout_received_at) IS DISTINCT FROM (h.authenticated_at, h.paid_at);
END
$$;

CREATE FUNCTION order_payout_times_on_history() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- An inserted entry can only make a time earlier: no need to read the history.
        UPDATE "order" o
        SET authenticated_at = least(o.authenticated_at, n.authenticated_at),
            payout_received_at = least(o.payout_received_at, n.paid_at)
        FROM (
            SELECT order_number,
                   min(changed_at) FILTER (WHERE status IN ('AUTHENTICATED', 'PAYOUTPENDING'))
                       AS authenticated_at,
                   min(changed_at) FILTER (WHERE status IN ('COMPLETED', 'PAYOUTCOMPLETED'))
                       AS paid_at
            FROM new_rows
            WHERE status IN ('AUTHENTICATED', 'PAYOUTPENDING', 'COMPLETED', 'PAYOUTCOMPLETED')
            GROUP BY order_number
        ) n
        WHERE o.order_number = n.order_number
          AND (least(o.authenticated_at, n.authenticated_at),
               least(o.payout_received_at, n.paid_at))
              IS DISTINCT FROM (o.authenticated_at, o.payout_received_at);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM order_payout_times_refresh(ARRAY(SELECT DISTINCT order_number FROM old_rows));
    ELSE
        PERFORM order_payout_times_refresh(ARRAY(
            SELECT order_number FROM old_rows UNION SELECT order_number FROM new_rows));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER order_payout_times_insert AFTER INSERT ON order_status_history
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_payout_times_on_history();
CREATE TRIGGER order_payout_times_update AFTER UPDATE ON order_status_history
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_payout_times_on_history();
CREATE TRIGGER order_payout_times_delete AFTER DELETE ON order_status_history
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_payout_times_on_history();
