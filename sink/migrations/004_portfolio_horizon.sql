-- A portfolio's valuation dates end at its own horizon: the market horizon
-- (latest price or FX date) or its latest booked trade date, whichever is
-- later. A forward-dated transaction extends only its own portfolio, and
-- cancelling it takes those dates away again. The one definition of the rule:
-- the series topology and the API both call it.
CREATE FUNCTION portfolio_horizon(p text) RETURNS date LANGUAGE sql STABLE AS $$
    SELECT greatest((SELECT horizon FROM market_horizon),
                    (SELECT max(trade_date) FROM transactions WHERE portfolio_id = p AND status = 'BOOKED'))
$$;

-- The market horizon used to move with trade dates too: recompute it from
-- prices and FX rates only, and drop the dates a series kept only because of
-- another portfolio's (or a cancelled) forward-dated transaction.
DELETE FROM market_horizon;
INSERT INTO market_horizon (singleton, horizon)
SELECT true, latest FROM (SELECT greatest((SELECT max(price_date) FROM prices),
                                          (SELECT max(rate_date) FROM fx_rates)) AS latest) m
WHERE latest IS NOT NULL;
DELETE FROM daily_series s WHERE s.date > coalesce(portfolio_horizon(s.portfolio_id), '-infinity'::date);
