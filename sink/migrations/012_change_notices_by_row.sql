-- Change notices (011), reshaped for what each table's writers do:
-- - `portfolios` and `transactions` are upserted one row per statement by the
--   sink: 011's statement triggers with transition tables added ~20 % to a
--   batch's write (two trigger calls and two tuple stores per row); row
--   triggers add ~5 % (3,000 deposits: 147 against 140 ms, median of 14).
-- - `daily_series` is written a portfolio's range per statement (DELETE, then
--   COPY): statement triggers stay, one call per statement.
-- - An update that moves rows to another portfolio changes both: updates name
--   the portfolios before and after.
-- The channel, the payloads and the truncate and market_horizon triggers are 011's.

CREATE FUNCTION folio_notice_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A payload must stay under 8000 bytes or the writer's transaction fails: an id that
    -- long (never valid on ingest) announces a change of everything instead.
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('folio_changed', CASE WHEN octet_length(OLD.portfolio_id) < 4000
                                                THEN OLD.portfolio_id ELSE '' END);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.portfolio_id IS DISTINCT FROM OLD.portfolio_id) THEN
        PERFORM pg_notify('folio_changed', CASE WHEN octet_length(NEW.portfolio_id) < 4000
                                                THEN NEW.portfolio_id ELSE '' END);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION folio_notice_portfolios_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('folio_changed', CASE WHEN octet_length(p) < 4000 THEN p ELSE '' END)
    FROM (SELECT portfolio_id AS p FROM old_rows UNION SELECT portfolio_id FROM changed_rows) AS changed;
    RETURN NULL;
END $$;

DROP TRIGGER portfolios_inserted ON portfolios;
DROP TRIGGER portfolios_updated ON portfolios;
DROP TRIGGER portfolios_deleted ON portfolios;
DROP TRIGGER transactions_inserted ON transactions;
DROP TRIGGER transactions_updated ON transactions;
DROP TRIGGER transactions_deleted ON transactions;
CREATE TRIGGER portfolios_changed AFTER INSERT OR UPDATE OR DELETE ON portfolios
    FOR EACH ROW EXECUTE FUNCTION folio_notice_row();
CREATE TRIGGER transactions_changed AFTER INSERT OR UPDATE OR DELETE ON transactions
    FOR EACH ROW EXECUTE FUNCTION folio_notice_row();

DROP TRIGGER daily_series_updated ON daily_series;
CREATE TRIGGER daily_series_updated AFTER UPDATE ON daily_series
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION folio_notice_portfolios_updated();
