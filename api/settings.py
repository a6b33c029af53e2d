"""The API's configuration, read from the environment.

- `DATABASE_URL`: PostgreSQL (`postgresql://…`, also the unix-socket form
  `postgresql://user@/db?host=/dir`); unset → database reads answer 503.
- `KAFKA_BOOTSTRAP`: the broker for ingestion (default 127.0.0.1:9092).
- `FOLIO_WORKER_URL`: the positions workers' web servers, for live reads:
  one or more, comma-separated (default http://127.0.0.1:6066).
- `FOLIO_WORKER_TOKEN`: sent to the workers' live pages (see folio.config).
- `FOLIO_WORKER_TIMEOUT`, `FOLIO_DB_TIMEOUT`, `FOLIO_BROKER_TIMEOUT`: seconds
  (defaults 5, 5, 10).
- `FOLIO_UP_STATUS_FILE`: `folio up`'s children and their restarts (JSON), for /metrics.
- `FOLIO_READY_MAX_LAG`, `FOLIO_READY_MAX_STARTS`, `FOLIO_READY_RESTART_WINDOW`,
  `FOLIO_READY_HEARTBEAT_AGE`, `FOLIO_READY_STUCK_AFTER`: when /health/ready
  calls a stage lagging, crash-looping or stuck (api.readiness).
- Access control (`FOLIO_AUTH`, `FOLIO_API_KEYS`, `FOLIO_JWT_*`, ...): api.auth.settings.
- `FOLIO_CORS_ORIGINS`: comma-separated origins allowed to call the API from a
  browser (CORS); unset, no cross-origin call is approved.
- `FOLIO_MAX_BODY_BYTES`: the largest request body a write endpoint reads
  (default 8 MiB); a longer one answers 413.
- `FOLIO_STREAM_HEARTBEAT`: seconds between the position stream's keep-alive
  comments (default 15); `FOLIO_STREAM_QUEUE`: events that may wait for one
  stream client before it is disconnected (default 5000). How far back a
  stream resumes is the sink's FOLIO_STREAM_RETENTION (folio.config).
- `FOLIO_DB_ANSWERS`: `0` reads the live valuation's income and
  `/performance` from PostgreSQL on every request instead of keeping them
  until a change notice (api.db_answers; default 1).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from api.auth.settings import AuthSettings
from api.readiness import ReadinessLimits
from folio.config import load_settings, switch

DEFAULT_WORKER_URL = "http://127.0.0.1:6066"
# 10,000 items (the most one request may hold) of about 400 bytes each, twice over.
DEFAULT_MAX_BODY_BYTES = 8 << 20
DEFAULT_STREAM_HEARTBEAT = 15.0
DEFAULT_STREAM_QUEUE = 5000  # one sink batch (FOLIO_SINK_BATCH) of one portfolio fits


@dataclass(frozen=True)
class ApiSettings:
    database_url: str | None = None
    worker_url: str = DEFAULT_WORKER_URL
    kafka_bootstrap: str = "127.0.0.1:9092"
    worker_timeout: float = 5.0
    db_timeout: float = 5.0
    broker_timeout: float = 10.0
    app_id: str = "folio"
    up_status_file: str | None = None
    readiness: ReadinessLimits = ReadinessLimits()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    worker_token: str | None = None  # FOLIO_WORKER_TOKEN (folio.config)
    cors_origins: tuple[str, ...] = ()  # none: no cross-origin answer is approved
    stream_heartbeat: float = DEFAULT_STREAM_HEARTBEAT
    stream_queue: int = DEFAULT_STREAM_QUEUE
    db_answers: bool = True  # keep PostgreSQL answers until a change notice (api.db_answers)
    # Closed by default: with no keys and no JWT configured nobody gets in.
    auth: AuthSettings = AuthSettings()

    @classmethod
    def from_env(cls) -> ApiSettings:
        folio = load_settings()
        return cls(
            database_url=folio.database_url,
            worker_url=os.environ.get("FOLIO_WORKER_URL") or DEFAULT_WORKER_URL,
            kafka_bootstrap=folio.broker,
            worker_timeout=float(os.environ.get("FOLIO_WORKER_TIMEOUT", "5")),
            db_timeout=float(os.environ.get("FOLIO_DB_TIMEOUT", "5")),
            broker_timeout=float(os.environ.get("FOLIO_BROKER_TIMEOUT", "10")),
            app_id=folio.app_id,
            up_status_file=os.environ.get("FOLIO_UP_STATUS_FILE") or None,
            readiness=ReadinessLimits(
                max_lag=int(os.environ.get("FOLIO_READY_MAX_LAG", ReadinessLimits.max_lag)),
                max_starts=int(os.environ.get("FOLIO_READY_MAX_STARTS", ReadinessLimits.max_starts)),
                restart_window=float(os.environ.get("FOLIO_READY_RESTART_WINDOW", ReadinessLimits.restart_window)),
                heartbeat_max_age=float(os.environ.get("FOLIO_READY_HEARTBEAT_AGE",
                                                       ReadinessLimits.heartbeat_max_age)),
                stuck_after=float(os.environ.get("FOLIO_READY_STUCK_AFTER", ReadinessLimits.stuck_after)),
            ),
            max_body_bytes=int(os.environ.get("FOLIO_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
            auth=AuthSettings.from_env(),
            worker_token=folio.worker_token,
            stream_heartbeat=float(os.environ.get("FOLIO_STREAM_HEARTBEAT", DEFAULT_STREAM_HEARTBEAT)),
            stream_queue=int(os.environ.get("FOLIO_STREAM_QUEUE", DEFAULT_STREAM_QUEUE)),
            db_answers=switch("FOLIO_DB_ANSWERS", os.environ.get("FOLIO_DB_ANSWERS"), True),
            cors_origins=tuple(o.strip() for o in os.environ.get("FOLIO_CORS_ORIGINS", "").split(",") if o.strip()),
        )
