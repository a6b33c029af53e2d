"""A minimal Faust topology with a RocksDB table, for testing how workers recover on tansu.

Configured from the environment by test_worker.py: KAFKA_BOOTSTRAP and
COUNTER_APP_ID. Every second it logs "table holds <sum> counts over <keys> keys".
"""
from __future__ import annotations

import os

import faust

app = faust.App(
    os.environ.get("COUNTER_APP_ID", "counter"),
    broker=f"kafka://{os.environ.get('KAFKA_BOOTSTRAP', '127.0.0.1:9092')}",
    store="rocksdb://",
    topic_partitions=2,
    table_standby_replicas=0,
    broker_session_timeout=6,  # tansu holds a first group join for half of it
    producer_linger=0.05,  # changelog records go out in multi-record batches
    web_enabled=False,
)
events = app.topic("counter-events", key_type=str, value_type=str, partitions=2)
counts = app.Table("counts", default=int, partitions=2)


@app.agent(events)
async def count(stream):
    async for key, _ in stream.items():
        counts[key] += 1


@app.timer(1.0)
async def report_table() -> None:
    values = list(counts.values())
    print(f"table holds {sum(values)} counts over {len(values)} keys", flush=True)
