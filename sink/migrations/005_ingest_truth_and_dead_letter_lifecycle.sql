-- Ingest that tells the truth, and dead letters with a lifecycle (issue 7).

-- Every version of a transaction the ledger put in effect (the `transactions`
-- table keeps only the latest), for GET /portfolios/{id}/transactions/{tid}.
-- Guarded by seq like `transactions`; seen_at is when the sink first saw it.
CREATE TABLE transaction_versions (
    portfolio_id    text NOT NULL,
    transaction_id  text NOT NULL,
    version         integer NOT NULL,
    status          text NOT NULL,
    type            text,
    trade_date      date,
    security_id     text,
    quantity        numeric,
    price           numeric,
    amount          numeric,
    fees            numeric,
    currency        text,
    arrival         bigint NOT NULL,
    seen_at         timestamptz NOT NULL DEFAULT now(),
    seq             bigint NOT NULL,
    PRIMARY KEY (portfolio_id, transaction_id, version)
);

-- Transaction versions the API accepted and published, written before
-- publishing; the sink deletes a receipt once the version is in effect (or a
-- higher one) or the id was dead-lettered. A receipt left is a `pending` id.
CREATE TABLE ingest_receipts (
    portfolio_id    text NOT NULL,
    transaction_id  text NOT NULL,
    version         integer NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (portfolio_id, transaction_id, version)
);

-- A letter's identity stays its original source (topic, partition, offset);
-- redriving and failing again update it instead of adding letters.
ALTER TABLE dead_letters
    ADD COLUMN state           text NOT NULL DEFAULT 'open',  -- open, redriven, resolved, failed_again
    ADD COLUMN attempts        integer NOT NULL DEFAULT 1,     -- times its event was rejected
    ADD COLUMN redrive_id      text,                           -- the latest redrive run
    ADD COLUMN redriven_at     timestamptz,
    ADD COLUMN resolved_at     timestamptz,
    ADD COLUMN last_failed_at  timestamptz;
CREATE INDEX dead_letters_by_state ON dead_letters (state);
CREATE INDEX dead_letters_by_transaction ON dead_letters (transaction_id) WHERE transaction_id IS NOT NULL;

-- Where each redriven letter's record was re-published (from the producer's
-- answer), so the record's outcome can be traced back to the letter.
-- outcome: NULL until seen, then 'applied' or 'failed' (set once: replays count nothing twice).
CREATE TABLE dead_letter_redrives (
    target_topic      text NOT NULL,
    target_partition  integer NOT NULL,
    target_offset     bigint NOT NULL,
    target_key        text,
    source_topic      text NOT NULL,
    source_partition  integer NOT NULL,
    source_offset     bigint NOT NULL,
    redrive_id        text NOT NULL,
    redriven_at       timestamptz NOT NULL,
    outcome           text,
    outcome_at        timestamptz,
    PRIMARY KEY (target_topic, target_partition, target_offset)
);
CREATE INDEX dead_letter_redrives_by_letter
    ON dead_letter_redrives (source_topic, source_partition, source_offset);
CREATE INDEX dead_letter_redrives_pending ON dead_letter_redrives (target_topic) WHERE outcome IS NULL;
