-- Leader election (ARCHITECTURE.md section 7): one row per leader task, in the service's own
-- schema. Advisory locks are database-global, so any role could take another service's key;
-- a row in this table can be written only by roles with rights on this schema.
CREATE TABLE leader (
    key         text        PRIMARY KEY,
    holder      text        NOT NULL,  -- host:pid:instance of the process that leads
    backend_pid integer     NOT NULL,  -- the holder's Postgres session; gone = leader gone
    acquired_at timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL   -- renewed by every heartbeat
);
