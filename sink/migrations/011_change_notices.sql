-- Change notices: every committed change to what the API keeps answers of
-- (api.db_changes: the live valuation's income, /performance) is announced on
-- LISTEN channel `folio_changed` (sink.change_notices.CHANNEL), payload the
-- portfolio id, or '' for every portfolio. Triggers, not the writers, send
-- them, so nothing that writes these tables can forget to: the sink, the
-- series worker, a migration, an operator's psql. PostgreSQL delivers a
-- transaction's notices at its commit and sends one per distinct payload.

CREATE FUNCTION folio_notice_portfolios() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A payload must stay under 8000 bytes or the writer's transaction fails: an id that
    -- long (never valid on ingest) announces a change of everything instead.
    PERFORM pg_notify('folio_changed', CASE WHEN octet_length(p) < 4000 THEN p ELSE '' END)
    FROM (SELECT DISTINCT portfolio_id AS p FROM changed_rows) AS changed;
    RETURN NULL;
END $$;

CREATE FUNCTION folio_notice_everything() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('folio_changed', '');
    RETURN NULL;
END $$;

-- Per portfolio: its definition, its transactions (income, first trade, own horizon), its series.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['portfolios', 'transactions', 'daily_series'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_inserted AFTER INSERT ON %1$I REFERENCING NEW TABLE AS changed_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION folio_notice_portfolios()', t);
        EXECUTE format('CREATE TRIGGER %1$s_updated AFTER UPDATE ON %1$I REFERENCING NEW TABLE AS changed_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION folio_notice_portfolios()', t);
        EXECUTE format('CREATE TRIGGER %1$s_deleted AFTER DELETE ON %1$I REFERENCING OLD TABLE AS changed_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION folio_notice_portfolios()', t);
        EXECUTE format('CREATE TRIGGER %1$s_truncated AFTER TRUNCATE ON %1$I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION folio_notice_everything()', t);
    END LOOP;
END $$;

-- The market horizon is every portfolio's default as-of: it moves only forward, at most once per sink batch.
CREATE TRIGGER market_horizon_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON market_horizon
    FOR EACH STATEMENT EXECUTE FUNCTION folio_notice_everything();
