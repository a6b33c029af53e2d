"""One partition's batch of table changes, from the first read to the persisted offset.

The ledger reads and writes records through `store` (a write-back cache over
the partition's RocksDB databases, one per table, streams.table_store).
`flush` then makes the batch durable, in the only order that keeps
at-least-once:
0. the whole batch (every table's changed keys and values, a deleted key as
   None) as one record under `PENDING` in the `books` database: one
   WriteBatch, so it is there whole or not at all;
1. each table's records, one WriteBatch per table's database;
2. each table's changelog partition, as aiokafka record batches, acknowledged
   by the broker, and the table's persisted changelog offset advanced once,
   exactly as Faust's recovery expects it;
3. `PENDING` deleted.
The source events are acknowledged only after `flush` returns. A crash
between 0 and 3 leaves some tables written and others not, or RocksDB ahead
of the changelog; the events are delivered again and found already applied
(`applied` offsets) by a ledger that may not hold all of their effects. So
the next batch of the partition (after the restart) finds `PENDING` and
finishes it: every table written before it reads anything, every record sent
before its own. A deleted entry or day (a
back-dated change's) then reaches the changelog as a tombstone too, instead of
coming back in any worker that recovers the table from it. Faust's own path
(`table[key] = value`) would send one changelog message and do two RocksDB
puts per key instead.

What this cannot cover: the partition moving to another worker right after
such a crash, whose tables are recovered from a changelog that may miss part
of the batch (its RocksDB, and `PENDING`, stayed on the dead worker's disk).
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from faust.types import TP

from folio.faults import fault_point
from streams.table_store import RocksKeyValue, TableLedgerStore


# The batch being written, in the `books` database while it is not wholly written and sent.
# Sorts before every record key (ids are never control characters); never sent to a changelog.
PENDING = b"\x00folio:pending-batch"

Changes = dict[str, list[tuple[bytes, bytes | None]]]


class PartitionTransaction:
    """The state of one partition of the positions worker's Faust tables for one batch."""

    def __init__(self, tables: dict[str, Any], partition: int,
                 on_written: Callable[[Changes], None] | None = None) -> None:
        self.tables = tables
        self.partition = partition
        # Told what was written, right after each RocksDB write (live reads' versions).
        self.on_written = on_written
        # Faust keeps one RocksDB database per table partition; the ledger needs gets, range
        # scans and batched writes on exactly that database, which Faust's table API does not offer.
        self.databases = {name: RocksKeyValue(table.data._db_for_partition(partition))
                          for name, table in tables.items()}
        # A crash interrupted the last flush: its tables are completed before anything is read
        # (the writes are idempotent), its changelog records sent first by the next flush.
        pending = self.databases["books"].get(PENDING)
        self.unsent: Changes = {} if pending is None else _decode(pending)
        self._write_tables(self.unsent)
        self.store = TableLedgerStore(self.databases)

    async def flush(self, producer: AIOKafkaProducer) -> int:
        """Write every changed record (RocksDB, changelog, persisted offset); how many."""
        changes = self.store.changes()
        if self.unsent:
            await self._send(producer, self.unsent)
            self.unsent = {}
            if not changes:
                self.databases["books"].write([(PENDING, None)])
        if changes:
            self.databases["books"].write([(PENDING, _encode(changes))])
            self._write_tables(changes)
            await self._send(producer, changes)
            self.databases["books"].write([(PENDING, None)])
        return sum(len(items) for items in changes.values())

    def _write_tables(self, changes: Changes) -> None:
        for name, items in changes.items():
            self.databases[name].write(items)
            fault_point("worker:after_rocksdb")
        if changes and self.on_written is not None:
            self.on_written(changes)

    async def _send(self, producer: AIOKafkaProducer, changes: Changes) -> None:
        # Every table's records are handed to the producer before any acknowledgement is awaited,
        # so they share produce requests and one round trip; a table's persisted offset still
        # moves only once the broker has acknowledged its records.
        sent = []
        for name, items in changes.items():
            topic = self.tables[name].changelog_topic.get_topic_name()
            sent.append((name, topic, await _send(producer, topic, self.partition, items)))
        for name, topic, pending in sent:
            self.tables[name].data.set_persisted_offset(TP(topic, self.partition), await _acknowledged(pending))


def _encode(changes: Changes) -> bytes:
    # Keys and values are UTF-8 JSON text (core.stored): kept as text.
    return orjson.dumps({name: [[k.decode(), None if v is None else v.decode()] for k, v in items]
                         for name, items in changes.items()})


def _decode(raw: bytes) -> Changes:
    return {name: [(k.encode(), None if v is None else v.encode()) for k, v in items]
            for name, items in orjson.loads(raw).items()}


async def _send(producer: AIOKafkaProducer, topic: str, partition: int,
                items: list[tuple[bytes, bytes]]) -> list[tuple[asyncio.Future, int]]:
    """Queue `items` as record batches; (each batch's delivery future, its record count)."""
    pending = []
    batch, count = producer.create_batch(), 0
    for key, value in items:
        if batch.append(key=key, value=value, timestamp=None) is None:
            pending.append((await producer.send_batch(batch, topic, partition=partition), count))
            batch, count = producer.create_batch(), 0
            batch.append(key=key, value=value, timestamp=None)
        count += 1
    pending.append((await producer.send_batch(batch, topic, partition=partition), count))
    return pending


async def _acknowledged(pending: list[tuple[asyncio.Future, int]]) -> int:
    """The offset of the last record, once every batch is acknowledged."""
    last = -1
    for future, n in pending:
        meta = await future
        last = meta.offset + n - 1  # a batch's metadata carries its base offset
    return last
