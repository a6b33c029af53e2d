-- The position stream's event log (GET /portfolios/{id}/stream). The sink
-- appends one row per change it writes, in the same transaction as the rows
-- themselves, and NOTIFYs `folio_stream`; each API process LISTENs, reads the
-- rows after the last id it saw and fans them out. `id` is the event's SSE id,
-- so a client resumes with Last-Event-ID from here. Market rows (a price or an
-- FX rate) name no portfolio: the API values every subscribed portfolio they
-- move. `txid` groups one sink transaction's rows (one valuation event per
-- portfolio per transaction). Rows older than FOLIO_STREAM_RETENTION are
-- pruned; `stream_log.pruned_through` is the highest id removed, so a resume
-- from before it is told it missed events (event `reset`).
CREATE TABLE stream_events (
    id            bigserial PRIMARY KEY,
    txid          bigint NOT NULL DEFAULT txid_current(),
    portfolio_id  text,                         -- NULL: market data (kind price or fx)
    kind          text NOT NULL,                -- position, cash, transaction, price, fx
    payload       jsonb NOT NULL,
    at            timestamptz NOT NULL DEFAULT clock_timestamp()  -- when the row was written
);
CREATE INDEX stream_events_by_portfolio ON stream_events (portfolio_id, id);
CREATE INDEX stream_events_market ON stream_events (id) WHERE portfolio_id IS NULL;

CREATE TABLE stream_log (
    one             boolean PRIMARY KEY DEFAULT true CHECK (one),
    pruned_through  bigint NOT NULL DEFAULT 0
);
INSERT INTO stream_log DEFAULT VALUES;
