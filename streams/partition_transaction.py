"""One partition's batch of table changes, from the first read to the persisted offset.

The ledger reads and writes records through `store` (a write-back cache over
the partition's four RocksDB databases, streams.table_store). `flush` then
makes the batch durable, in the only order that keeps at-least-once:
1. RocksDB, every table's dirty records as one WriteBatch per table;
2. each table's changelog partition, as aiokafka record batches, acknowledged
   by the broker;
3. the table's persisted changelog offset, advanced once, exactly as Faust's
   recovery expects it.
The source events are acknowledged only after `flush` returns. A crash before
(2) completes leaves RocksDB ahead of the changelog: the events are delivered
again, found already applied (`applied` offsets), and their records re-emitted
(streams.apply.republish_if_replayed). Faust's own path (`table[key] = value`)
would send one changelog message and do two RocksDB puts per key instead.
"""
from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer
from faust.types import TP

from folio.faults import fault_point
from streams.table_store import RocksKeyValue, TableLedgerStore


class PartitionTransaction:
    """The state of one partition of the positions worker's Faust tables for one batch."""

    def __init__(self, tables: dict[str, Any], partition: int) -> None:
        self.tables = tables
        self.partition = partition
        # Faust keeps one RocksDB database per table partition; the ledger needs gets and
        # batched writes on exactly that database, which Faust's table API does not offer.
        self.databases = {name: RocksKeyValue(table.data._db_for_partition(partition))
                          for name, table in tables.items()}
        self.store = TableLedgerStore(self.databases)

    async def flush(self, producer: AIOKafkaProducer) -> int:
        """Write every changed record (RocksDB, changelog, persisted offset); how many."""
        sent = 0
        for name, items in self.store.changes().items():
            table = self.tables[name]
            self.databases[name].write(items)
            fault_point("worker:after_rocksdb")
            topic = table.changelog_topic.get_topic_name()
            last_offset = await _send(producer, topic, self.partition, items)
            table.data.set_persisted_offset(TP(topic, self.partition), last_offset)
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
