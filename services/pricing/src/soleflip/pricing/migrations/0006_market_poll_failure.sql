-- A product StockX keeps failing on (404, 5xx or an undecodable body for its market data) must
-- not be asked forever: the market poller counts its failures in a row here and stops asking
-- once the count reaches its bound; a successful poll deletes the row.
CREATE TABLE market_poll_failure (
    product_id       text        PRIMARY KEY,
    failures         integer     NOT NULL,
    first_failed_at  timestamptz NOT NULL,
    last_failed_at   timestamptz NOT NULL,
    last_error       text
);
