"""The API's configuration, read from the environment.

- `DATABASE_URL`: PostgreSQL (`postgresql://…`, also the unix-socket form
  `postgresql://user@/db?host=/dir`); unset → database reads answer 503.
- `KAFKA_BOOTSTRAP`: the broker for ingestion (default 127.0.0.1:9092).
- `FOLIO_WORKER_URL`: the positions workers' web servers, for live reads:
  one or more, comma-separated (default http://127.0.0.1:6066).
- `FOLIO_WORKER_TIMEOUT`, `FOLIO_DB_TIMEOUT`, `FOLIO_BROKER_TIMEOUT`: seconds
  (defaults 5, 5, 10).
- `FOLIO_MAX_BODY_BYTES`: the largest request body a write endpoint reads
  (default 8 MiB); a longer one answers 413.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from folio.config import load_settings

DEFAULT_WORKER_URL = "http://127.0.0.1:6066"
# 10,000 items (the most one request may hold) of about 400 bytes each, twice over.
DEFAULT_MAX_BODY_BYTES = 8 << 20


@dataclass(frozen=True)
class ApiSettings:
    database_url: str | None = None
    worker_url: str = DEFAULT_WORKER_URL
    kafka_bootstrap: str = "127.0.0.1:9092"
    worker_timeout: float = 5.0
    db_timeout: float = 5.0
    broker_timeout: float = 10.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

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
            max_body_bytes=int(os.environ.get("FOLIO_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
        )
