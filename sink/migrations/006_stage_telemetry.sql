-- Stages without a web server (sink, series worker) report here: each process
-- start, and a heartbeat with its counters every few seconds (folio.telemetry).
-- The API reads them for /metrics and /health/ready (restarts, crash loops, a
-- stage that stopped beating).

CREATE TABLE stage_starts (
    stage       text NOT NULL,
    instance    text NOT NULL,          -- host:pid
    started_at  timestamptz NOT NULL
);
CREATE INDEX stage_starts_by_stage ON stage_starts (stage, started_at);

CREATE TABLE stage_heartbeats (
    stage       text NOT NULL,
    instance    text NOT NULL,
    started_at  timestamptz NOT NULL,
    beat_at     timestamptz NOT NULL,
    counters    jsonb NOT NULL,         -- folio.telemetry.StageCounters.snapshot()
    PRIMARY KEY (stage, instance)
);
