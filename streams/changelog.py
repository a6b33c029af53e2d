"""Writing a batch's table changes: RocksDB first, then the changelog, in bulk.

Faust's own path (`table[key] = value`) sends one changelog message and does
one RocksDB put, plus a persisted-offset put, per key. Here a batch's changes
for one partition go to RocksDB as one WriteBatch and to each changelog
partition as aiokafka record batches; the table's persisted changelog offset is
then advanced once, exactly as Faust's recovery expects it. The records are
acknowledged before the source events are acked, so at-least-once holds.
"""
from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer
from faust.types import TP

from folio.faults import fault_point
from streams.table_store import RocksKeyValue


async def write_changes(producer: AIOKafkaProducer, tables: dict[str, Any], partition: int,
                        changes: dict[str, list[tuple[bytes, bytes]]]) -> int:
    sent = 0
    for name, items in changes.items():
        table = tables[name]
        RocksKeyValue(table.data._db_for_partition(partition)).write(items)
        fault_point("worker:after_rocksdb")
        topic = table.changelog_topic.get_topic_name()
        last_offset = await _send(producer, topic, partition, items)
        table.data.set_persisted_offset(TP(topic, partition), last_offset)
        sent += len(items)
    return sent


async def _send(producer: AIOKafkaProducer, topic: str, partition: int, items: list[tuple[bytes, bytes]]) -> int:
    pending = []
    batch, count = producer.create_batch(), 0
    for key, value in items:
        if batch.append(key=key, value=value, timestamp=None) is None:
            pending.append((await producer.send_batch(batch, topic, partition=partition), count))
            batch, count = producer.create_batch(), 0
            batch.append(key=key, value=value, timestamp=None)
        count += 1
    pending.append((await producer.send_batch(batch, topic, partition=partition), count))
    last = -1
    for future, n in pending:
        meta = await future
        last = meta.offset + n - 1  # a batch's metadata carries its base offset
    return last
