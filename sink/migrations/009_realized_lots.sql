-- What each closing trade realized, lot by lot (core.realized): one row per
-- relieved piece of a lot, in relief order (`item`). Rewritten whole with the
-- closing trade's ledger record (its `seq`), so a back-dated trade, an
-- amendment or a cancellation that changes the relief replaces the rows.
-- Closing trades booked before this table existed have no rows until their
-- position is replayed (a later back-dated trade, or a cost method change).
CREATE TABLE realized_lots (
    portfolio_id       text    NOT NULL,
    transaction_id     text    NOT NULL,
    item               integer NOT NULL,
    security_id        text    NOT NULL,
    lot_transaction_id text,
    open_date          date,
    close_date         date    NOT NULL,
    quantity           numeric NOT NULL,
    proceeds_local     numeric NOT NULL,
    proceeds_base      numeric NOT NULL,
    cost_local         numeric NOT NULL,
    cost_base          numeric NOT NULL,
    gain_local         numeric NOT NULL,
    gain_base          numeric NOT NULL,
    seq                bigint  NOT NULL,
    PRIMARY KEY (portfolio_id, transaction_id, item)
);
CREATE INDEX realized_lots_by_close ON realized_lots (portfolio_id, close_date);
