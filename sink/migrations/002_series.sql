-- The daily series (SPEC §2 "Daily series") and what keeps it current.

-- One row per portfolio valuation date. NULL mv/inflow/outflow: a price or
-- rate that date needs is missing (never zero).
CREATE TABLE daily_series (
    portfolio_id  text NOT NULL,
    date          date NOT NULL,
    mv            numeric,
    inflow        numeric,
    outflow       numeric,
    PRIMARY KEY (portfolio_id, date)
);

-- The market's "today": the latest trade, price or FX date seen. Every
-- portfolio's series runs from its first transaction to here.
CREATE TABLE market_horizon (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    horizon    date NOT NULL
);

-- Outbox: date ranges whose series values went stale, written in the same
-- transaction as the change that staled them, relayed to the series topic
-- and then deleted. NULL from/to: from the first / up to the last date.
CREATE TABLE series_marks (
    id            bigserial PRIMARY KEY,
    portfolio_id  text NOT NULL,
    from_date     date,
    to_date       date
);

CREATE INDEX positions_by_security ON positions (security_id);
CREATE INDEX positions_by_currency ON positions (currency);
