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
    # Access control (api.auth): FOLIO_AUTH on/off, and the API keys file
    # (`folio keys` writes it, the API reads it, `folio up` creates its first key).
    auth_enabled: bool = True
    api_keys_file: Path | None = None
    # The shared secret between the API and the positions workers' live pages
    # (FOLIO_WORKER_TOKEN): anyone who can reach a worker's port must not read
    # what the API's access control guards. Unset: the pages are open.
    worker_token: str | None = None
    # How long (seconds) the position stream's event log keeps rows: how far back
    # a client can resume with Last-Event-ID (FOLIO_STREAM_RETENTION; the sink prunes).
    stream_retention: float = 86400.0

    @property
    def keys_file(self) -> Path:
        return self.api_keys_file or self.data_dir / "api-keys.json"

    @property
    def broker(self) -> str:
        return self.kafka_bootstrap or "127.0.0.1:9092"


_ON, _OFF = ("on", "1", "true", "yes"), ("off", "0", "false", "no")


def switch(name: str, text: str | None, default: bool) -> bool:
    """An on/off variable (on/off, 1/0, true/false, yes/no; unset or empty: `default`); anything else
    is refused by name."""
    value = (text or "").strip().lower()
    if not value:
        return default
    if value not in _ON + _OFF:
        raise ValueError(f"{name}={text!r}: expected on or off (1/0, true/false, yes/no)")
    return value in _ON


def auth_switch(text: str) -> bool:
    return switch("FOLIO_AUTH", text, True)


def load_settings() -> Settings:
    return Settings(
        kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP") or None,
        database_url=os.environ.get("DATABASE_URL") or None,
        data_dir=Path(os.environ.get("FOLIO_DATA_DIR", ".folio")).resolve(),
        app_id=os.environ.get("FOLIO_APP_ID", "folio"),
        api_port=int(os.environ.get("FOLIO_API_PORT", "8000")),
        broker_port=int(os.environ.get("FOLIO_BROKER_PORT", "9092")),
        worker_port=int(os.environ.get("FOLIO_WORKER_WEB_PORT", "6066")),
        auth_enabled=auth_switch(os.environ.get("FOLIO_AUTH", "on")),
        api_keys_file=Path(os.environ["FOLIO_API_KEYS_FILE"]).resolve() if os.environ.get("FOLIO_API_KEYS_FILE")
        else None,
        worker_token=os.environ.get("FOLIO_WORKER_TOKEN") or None,
        stream_retention=float(os.environ.get("FOLIO_STREAM_RETENTION", "86400")),
    )
