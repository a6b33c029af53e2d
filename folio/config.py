"""Runtime configuration, read from the environment (the README lists every variable)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str | None
    database_url: str | None
    data_dir: Path
    app_id: str
    api_port: int
    # Ports `folio up` prefers for the embedded broker and the worker's web server (free ones if taken).
    broker_port: int = 9092
    worker_port: int = 6066

    @property
    def broker(self) -> str:
        return self.kafka_bootstrap or "127.0.0.1:9092"


def load_settings() -> Settings:
    return Settings(
        kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP") or None,
        database_url=os.environ.get("DATABASE_URL") or None,
        data_dir=Path(os.environ.get("FOLIO_DATA_DIR", ".folio")).resolve(),
        app_id=os.environ.get("FOLIO_APP_ID", "folio"),
        api_port=int(os.environ.get("FOLIO_API_PORT", "8000")),
        broker_port=int(os.environ.get("FOLIO_BROKER_PORT", "9092")),
        worker_port=int(os.environ.get("FOLIO_WORKER_WEB_PORT", "6066")),
    )
