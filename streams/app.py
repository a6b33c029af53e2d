"""The Faust application settings shared by every Folio topology."""
from __future__ import annotations

import os

import faust

from folio.config import load_settings
from folio.consumer_groups import faust_app_id
from folio.logs import faust_logging_config
from streams import fresh_partitions


def make_app(name: str) -> faust.App:
    settings = load_settings()
    app = faust.App(
        faust_app_id(settings.app_id, name),
        broker=f"kafka://{settings.broker}",
        store="rocksdb://",
        datadir=str(settings.data_dir / f"{name}-data"),
        topic_partitions=int(os.environ.get("FOLIO_PARTITIONS", "4")),
        topic_replication_factor=int(os.environ.get("FOLIO_REPLICATION", "1")),
        # The first group join waits half the session timeout; deployments
        # with real Kafka keep Faust's default.
        broker_session_timeout=float(os.environ.get("FOLIO_SESSION_TIMEOUT", "60")),
        broker_commit_interval=float(os.environ.get("FOLIO_COMMIT_INTERVAL", "1.0")),
        # Changelog records are produced in bursts per batch: let them share requests.
        producer_linger=float(os.environ.get("FOLIO_PRODUCER_LINGER", "0.005")),
        producer_max_batch_size=1 << 20,
        stream_buffer_maxsize=int(os.environ.get("FOLIO_STREAM_BUFFER", "8192")),
        table_standby_replicas=int(os.environ.get("FOLIO_STANDBY_REPLICAS", "1")),
        consumer_auto_offset_reset="earliest",
        web_port=int(os.environ.get("FOLIO_WORKER_WEB_PORT", "6066")),
        web_host=os.environ.get("FOLIO_WORKER_WEB_HOST", "127.0.0.1"),
        canonical_url=os.environ.get("FOLIO_WORKER_URL")
        or f"http://127.0.0.1:{os.environ.get('FOLIO_WORKER_WEB_PORT', '6066')}",
        topic_allow_declare=True,
        logging_config=faust_logging_config(name),
    )
    fresh_partitions.install(app)
    return app
