-- Folio's PostgreSQL schema: the sink's copy of the stream state, plus reference data.
-- Every row written from a changelog keeps `seq` (the state's own version) and
-- is only ever replaced by a higher one, so replays never move rows backwards.

CREATE TABLE portfolios (
    portfolio_id   text PRIMARY KEY,
    name           text NOT NULL,
    base_currency  text NOT NULL,
    cost_method    text NOT NULL,
    open_date      date NOT NULL,
    benchmark_id   text,
    securities     jsonb NOT NULL DEFAULT '[]',
    currencies     jsonb NOT NULL DEFAULT '[]',
    seq            bigint NOT NULL
);

CREATE TABLE positions (
    portfolio_id    text NOT NULL,
    security_id     text NOT NULL,
    currency        text,
    quantity        numeric NOT NULL,
    cost_local      numeric NOT NULL,
    cost_base       numeric NOT NULL,
    realized_local  numeric NOT NULL,
    realized_base   numeric NOT NULL,
    listed          boolean NOT NULL,
    seq             bigint NOT NULL,
    PRIMARY KEY (portfolio_id, security_id)
);

CREATE TABLE lots (
    portfolio_id    text NOT NULL,
    security_id     text NOT NULL,
    transaction_id  text NOT NULL,
    open_date       date NOT NULL,
    arrival         bigint NOT NULL,
    quantity        numeric NOT NULL,
    cost_local      numeric NOT NULL,
    cost_base       numeric NOT NULL,
    PRIMARY KEY (portfolio_id, security_id, transaction_id)
);

-- End-of-day state of a position on each date it changed; a date D's
-- position is the latest row on or before D.
CREATE TABLE position_history (
    portfolio_id    text NOT NULL,
    security_id     text NOT NULL,
    date            date NOT NULL,
    quantity        numeric NOT NULL,
    cost_local      numeric NOT NULL,
    cost_base       numeric NOT NULL,
    realized_local  numeric NOT NULL,
    realized_base   numeric NOT NULL,
    PRIMARY KEY (portfolio_id, security_id, date)
);

CREATE TABLE cash_balances (
    portfolio_id  text NOT NULL,
    currency      text NOT NULL,
    balance       numeric NOT NULL,
    movers        integer NOT NULL,
    seq           bigint NOT NULL,
    PRIMARY KEY (portfolio_id, currency)
);

CREATE TABLE transactions (
    portfolio_id     text NOT NULL,
    transaction_id   text NOT NULL,
    version          integer NOT NULL,
    status           text NOT NULL,
    type             text,
    trade_date       date,
    settlement_date  date,
    security_id      text,
    quantity         numeric,
    price            numeric,
    amount           numeric,
    fees             numeric,
    currency         text,
    fx_rate          numeric,          -- as given on the event
    fx_applied       numeric,          -- the rate booked with (given, 1, or looked up)
    arrival          bigint NOT NULL,
    realized_local   numeric NOT NULL,
    realized_base    numeric NOT NULL,
    cash_effect      jsonb NOT NULL,
    seq              bigint NOT NULL,
    PRIMARY KEY (portfolio_id, transaction_id)
);
CREATE INDEX transactions_by_date ON transactions (portfolio_id, trade_date);

CREATE TABLE instruments (
    security_id  text PRIMARY KEY,
    name         text NOT NULL,
    currency     text NOT NULL,
    isin         text,
    asset_class  text,
    sector       text,
    country      text,
    src_partition integer NOT NULL,
    src_offset   bigint NOT NULL
);

CREATE TABLE prices (
    security_id  text NOT NULL,
    price_date   date NOT NULL,
    price        numeric NOT NULL,
    currency     text,
    src_partition integer NOT NULL,
    src_offset   bigint NOT NULL,
    PRIMARY KEY (security_id, price_date)
);

CREATE TABLE fx_rates (
    from_currency  text NOT NULL,
    to_currency    text NOT NULL,
    rate_date      date NOT NULL,
    rate           numeric NOT NULL,
    src_partition  integer NOT NULL,
    src_offset     bigint NOT NULL,
    PRIMARY KEY (from_currency, to_currency, rate_date)
);

CREATE TABLE dead_letters (
    source_topic      text NOT NULL,
    source_partition  integer NOT NULL,
    source_offset     bigint NOT NULL,
    key               text,
    raw_value         text NOT NULL,
    reason            text NOT NULL,
    field             text,
    transaction_id    text,
    detail            text NOT NULL,
    dead_lettered_at  timestamptz NOT NULL,
    PRIMARY KEY (source_topic, source_partition, source_offset)
);
