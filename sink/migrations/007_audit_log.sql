-- Who wrote what, when and from where: one row per accepted write (an ingest,
-- a dead-letter redrive, a key created or revoked), through the API or the
-- `folio` CLI (api.audit). Admins read it at GET /audit. Rows are only ever
-- inserted; `at` is PostgreSQL's clock, not the caller's.

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,          -- a key's name, a token's subject, "anonymous" (auth off) or cli:<os user>
    auth_method text NOT NULL,          -- api_key, jwt, none (auth off) or cli
    role        text NOT NULL,          -- read, write or admin
    action      text NOT NULL,          -- ingest, dead_letters.redrive, keys.create, keys.revoke
    endpoint    text NOT NULL,          -- "POST /ingest/transactions", or the CLI command
    item_count  integer NOT NULL,
    ids         jsonb NOT NULL,         -- the accepted ids as answered, the letters redriven, or [key name]
    client      text,                   -- the caller's address (the TCP peer; no X-Forwarded-For)
    detail      jsonb
);
CREATE INDEX audit_log_by_at ON audit_log (at);
