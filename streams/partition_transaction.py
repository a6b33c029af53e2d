"""One partition's batch of table changes, from the first read to the persisted offset.

The ledger reads and writes records through `store` (a write-back cache over
the partition's RocksDB databases, one per table, streams.table_store).
`flush` then makes the batch durable, in the only order that keeps
at-least-once on this worker and on any worker the partition moves to:
0. the whole batch (every table's changed keys and values, a deleted key as
   None) under `PENDING_KEY` in the `pending` table: written to its RocksDB
   database as one WriteBatch, then sent to its changelog partition and
   acknowledged (in parts of at most BATCH_BYTES, every part acknowledged
   before the header is sent);
1. each table's records, one WriteBatch per table's database;
2. each table's changelog partition, as aiokafka record batches, acknowledged
   by the broker, and the table's persisted changelog offset advanced once,
   exactly as Faust's recovery expects it;
3. `PENDING_KEY` and the parts deleted, locally and on the changelog (tombstones).
The source events are acknowledged only after `flush` returns. A crash
between 0 and 3 leaves some tables written and others not, or RocksDB ahead
of the changelog, or some tables' changelogs ahead of others'; the events are
delivered again and found already applied (`applied` offsets) by a ledger
that may not hold all of their effects. So a transaction object that finds
`PENDING_KEY` finishes that batch before anything is read: every table
written, every record sent again before the next batch's. It finds it
- on the same worker, in its own RocksDB (written at step 0);
- on a worker the partition moved to, in the `pending` table Faust recovered
  from the changelog (or kept as a standby copy): the batch's header was
  acknowledged before any table's record was sent, so any table record of a
  batch that did not finish is preceded on the changelogs by the whole batch.
Finishing the last batch again is harmless (same values, same `seq`): it is
what happens when step 3's tombstone never reached the changelog, since every
batch that writes a table writes its header first.

A deleted entry or day (a back-dated change's) reaches the changelog as a
tombstone too, instead of coming back in any worker that recovers the table
from it. Faust's own path (`table[key] = value`) would send one changelog
message and do two RocksDB puts per key instead.

A header or parts that cannot be read back (not written by a worker: a
corrupt or forged changelog record) are refused, not trusted: the partition
would otherwise fail on every start. The batch is reported as a dead letter
(`invalid_pending_batch`, with the header's bytes), logged as an error, and
its records deleted like a finished batch's; nothing of it is applied.

What it costs: one more broker round trip per batch (step 0's acknowledgement
is awaited before step 2 starts), and the batch once more on the `pending`
changelog, zlib-compressed (level 1: about 3 us per transaction, the JSON
shrinks about 12 times), which compaction (Apache Kafka) reduces to one batch.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import zlib
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from faust.types import TP

from core.stored import decode
from folio.faults import fault_point, is_armed
from streams.batcher import BATCH_BYTES
from streams.dead_letters import INVALID_PENDING_BATCH, dead_letter, publish_letters
from streams.table_store import RocksKeyValue, TableLedgerStore

log = logging.getLogger(__name__)

# The `pending` table's keys: the header of the batch being written ({"id", "parts"}; absent
# once it is wholly written and sent), and its parts, keyed by the batch's id; the parts
# together are the batch's JSON (_encode), zlib-compressed.
PENDING_TABLE = "pending"
PENDING_KEY = b"batch"
# Where a worker of an earlier release kept the batch, in the `books` database (one record).
LEGACY_PENDING = b"\x00folio:pending-batch"
# Test-only fault points (folio.faults), by the table whose records are not sent when the worker
# dies, every table before it acknowledged: the ledger's alone (its positions and cash missing), or
# everything but the days (a position's record on the changelog before its history).
BETWEEN_CHANGELOGS = "worker:between_changelogs"
BEFORE_DAYS = "worker:before_days"


def _fault_before(sent: list, name: str) -> str | None:
    if sent and sent[-1][0] == "ledger":
        return BETWEEN_CHANGELOGS
    return BEFORE_DAYS if sent and name == "days" else None

Changes = dict[str, list[tuple[bytes, bytes | None]]]


def part_key(batch_id: str, index: int) -> bytes:
    return b"batch:%s:%06d" % (batch_id.encode(), index)


PART_KEYS_FROM, PART_KEYS_TO = b"batch:", b"batch;"  # every part key, as a range


def has_pending_batch(tables: dict[str, Any], partition: int) -> bool:
    """Whether the partition's `pending` table holds a batch header: one being written, or one a crash cut short."""
    return tables[PENDING_TABLE].data._db_for_partition(partition).get(PENDING_KEY) is not None


class PartitionTransaction:
    """The state of one partition of the positions worker's Faust tables for one batch."""

    def __init__(self, tables: dict[str, Any], partition: int,
                 on_written: Callable[[Changes], None] | None = None) -> None:
        self.tables = {name: table for name, table in tables.items() if name != PENDING_TABLE}
        self.pending_table = tables[PENDING_TABLE]
        self.partition = partition
        # Told what was written, right after each RocksDB write (live reads' versions).
        self.on_written = on_written
        # Faust keeps one RocksDB database per table partition; the ledger needs gets, range
        # scans and batched writes on exactly that database, which Faust's table API does not offer.
        self.databases = {name: RocksKeyValue(table.data._db_for_partition(partition))
                          for name, table in self.tables.items()}
        self.pending = RocksKeyValue(self.pending_table.data._db_for_partition(partition))
        # A crash interrupted a flush, here or on the worker that had this partition before:
        # its tables are completed before anything is read (the writes are idempotent), and
        # its records are sent again with the next flush's.
        self.refused: dict[str, Any] | None = None  # the dead letter of a pending batch that could not be read
        self.unsent: Changes = self._read_pending()
        if self.unsent:
            log.warning("partition %s: finishing a batch that a crash interrupted (%d records)", partition,
                        sum(len(items) for items in self.unsent.values()))
        self._write_tables(self.unsent)
        self.store = TableLedgerStore(self.databases)

    async def flush(self, producer: AIOKafkaProducer) -> int:
        """Write every changed record (RocksDB, changelog, persisted offset); how many."""
        changes = self.store.changes()
        batch = _merged(self.unsent, changes)
        if self.refused is not None:
            await publish_letters(producer, [self.refused])
            self.refused = None
            if not batch:
                await self._finished(producer)  # its header and parts, deleted
        if batch:
            # A retried flush (apply_group after a broker error) writes the batch under a new id
            # and new part keys: an earlier attempt's header that reached the changelog keeps
            # parts of its own, whatever this attempt gets to send before a crash.
            header, parts = _parts(zlib.compress(_encode(batch), 1))
            self.parts.update(key for key, _ in parts)
            self.pending.write([header, *parts])
            await self._send_pending(producer, header, parts)
            self._write_tables(changes)
            await self._send(producer, batch)
            await self._finished(producer)
            self.unsent = {}
        return sum(len(items) for items in changes.values())

    def _read_pending(self) -> Changes:
        self.legacy = False
        # Part keys to delete when the batch is done: this object's own (every attempt's), plus,
        # after a crash, every part the database holds (a scan only then: each batch leaves
        # deleted keys behind, which a range scan on every batch would step over).
        self.parts: set[bytes] = set()
        header = self.pending.get(PENDING_KEY)
        if header is not None:
            self.parts.update(self.pending.keys(PART_KEYS_FROM, PART_KEYS_TO))
            return self._unless_unreadable(PENDING_KEY, header, lambda: self._pending_batch(header))
        legacy = self.databases["books"].get(LEGACY_PENDING)
        self.legacy = legacy is not None  # deleted once the batch is on the `pending` changelog
        if legacy is None:
            return {}
        return self._unless_unreadable(LEGACY_PENDING, legacy, lambda: _checked(_decode(legacy), self.databases))

    def _unless_unreadable(self, key: bytes, raw: bytes, read: Callable[[], Changes]) -> Changes:
        try:
            return read()
        except Exception as exc:  # noqa: BLE001 - whatever stops it being read: the partition must go on
            detail = f"the pending batch of partition {self.partition} cannot be read: {type(exc).__name__}: {exc}"
            log.error("%s; refused, reported as a dead letter and deleted (nothing of it applied)", detail)
            self.refused = dead_letter(self.pending_table.changelog_topic.get_topic_name(), self.partition,
                                       None, key, bytes(raw), INVALID_PENDING_BATCH, None, detail)
            return {}

    def _pending_batch(self, header: bytes) -> Changes:
        """The batch under `header` (raises if it is unreadable: see _unless_unreadable)."""
        found = orjson.loads(header)
        batch_id, count = found["id"], found["parts"]
        if not (isinstance(batch_id, str) and type(count) is int and 0 < count <= MAX_PARTS):
            raise ValueError(f"header {found!r} is not {{'id': str, 'parts': 1..{MAX_PARTS}}}")
        raws = [self.pending.get(part_key(batch_id, i)) for i in range(count)]
        if any(raw is None for raw in raws):
            # The batch was finished and its parts' tombstones reached the changelog, but the
            # header's did not (they travel in one record batch, so this is not expected).
            log.warning("partition %s: a pending batch header without its parts; nothing to finish",
                        self.partition)
            return {}
        return _checked(_decode(_decompressed(b"".join(raws))), self.databases)

    async def _send_pending(self, producer: AIOKafkaProducer, header: tuple[bytes, bytes],
                            parts: list[tuple[bytes, bytes]]) -> None:
        """Every part on the changelog before the header can be: a header there means the batch is."""
        topic = self.pending_table.changelog_topic.get_topic_name()
        if len(parts) > 1:
            # Separate record batches: without idempotence a failed one may leave a gap before a
            # later one lands, so the header waits for all of them.
            await _acknowledged(await _send(producer, topic, self.partition, parts))
            parts = []
        # One part and its header share one record batch (at most BATCH_BYTES plus a few bytes).
        offset = await _acknowledged(await _send(producer, topic, self.partition, [*parts, header]))
        self.pending_table.data.set_persisted_offset(TP(topic, self.partition), offset)

    async def _finished(self, producer: AIOKafkaProducer) -> None:
        # Every attempt's parts, and after a crash every part found: parts left by an attempt or by
        # a batch that died before its header would otherwise stay for ever, on a compacted
        # changelog too.
        deleted = [(PENDING_KEY, None), *((key, None) for key in sorted(self.parts))]
        self.pending.write(deleted)
        self.parts = set()
        if self.legacy:
            self.databases["books"].write([(LEGACY_PENDING, None)])
            self.legacy = False
        # Queued now, so it precedes the next batch's header on the partition; not awaited: if
        # it is lost, whoever has the partition next finishes this batch once more, which
        # rewrites the same values (see the module doc).
        topic = self.pending_table.changelog_topic.get_topic_name()
        for delivery, _ in await _send(producer, topic, self.partition, deleted):
            delivery.add_done_callback(_ignore_outcome)

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
            fault = _fault_before(sent, name)
            if fault is not None and is_armed(fault):
                for _, _, queued in sent:
                    await _acknowledged(queued)
                fault_point(fault)
            topic = self.tables[name].changelog_topic.get_topic_name()
            sent.append((name, topic, await _send(producer, topic, self.partition, items)))
        for name, topic, pending in sent:
            self.tables[name].data.set_persisted_offset(TP(topic, self.partition), await _acknowledged(pending))


def _merged(first: Changes, then: Changes) -> Changes:
    """`first` overlaid with `then`, key by key (the later value of a key wins)."""
    if not first:
        return then
    merged = {name: dict(items) for name, items in first.items()}
    for name, items in then.items():
        merged.setdefault(name, {}).update(items)
    return {name: sorted(items.items()) for name, items in merged.items()}


def _parts(encoded: bytes) -> tuple[tuple[bytes, bytes], list[tuple[bytes, bytes]]]:
    """The header and the parts of a batch under a new id, each part at most BATCH_BYTES (a broker's
    default 1 MiB message limit takes it)."""
    batch_id = secrets.token_hex(8)
    chunks = [encoded[i:i + BATCH_BYTES] for i in range(0, len(encoded), BATCH_BYTES)] or [b""]
    header = (PENDING_KEY, orjson.dumps({"id": batch_id, "parts": len(chunks)}))
    return header, [(part_key(batch_id, i), chunk) for i, chunk in enumerate(chunks)]


def _encode(changes: Changes) -> bytes:
    # Keys and values are UTF-8 JSON text (core.stored): kept as text.
    return orjson.dumps({name: [[k.decode(), None if v is None else v.decode()] for k, v in items]
                         for name, items in changes.items()})


MAX_PARTS = 10_000  # far above any batch (BATCH_MAX events), far below what a forged header could ask


def _checked(changes: Changes, tables: dict[str, Any]) -> Changes:
    """`changes` if every table is one of `tables` and every value decodes as its table's record
    (raises otherwise): a batch that is finished is written as it is, so a value its table cannot
    read would fail every later batch of that key."""
    for name, items in changes.items():
        if name not in tables:
            raise KeyError(f"unknown table {name!r}")
        for _, value in items:
            if value is not None:
                decode(name, value)
    return changes


def _decompressed(raw: bytes) -> bytes:
    """zlib's output, refused past 100 times its input (a worker's batch JSON shrinks about 12 times)."""
    inflate = zlib.decompressobj()
    out = inflate.decompress(raw, 100 * len(raw) + (1 << 20))
    if inflate.unconsumed_tail:
        raise ValueError(f"{len(raw)} compressed bytes inflate to more than {len(out)}")
    return out + inflate.flush()


def _decode(raw: bytes) -> Changes:
    return {name: [_item(item) for item in items] for name, items in orjson.loads(raw).items()}


def _item(item: Any) -> tuple[bytes, bytes | None]:
    key, value = item
    if not isinstance(key, str) or not (value is None or isinstance(value, str)):
        raise TypeError(f"a record is [key text, value text or null], not {item!r:.80}")
    return key.encode(), None if value is None else value.encode()


def _ignore_outcome(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.info("a pending batch's tombstone was not sent (%r); the batch will be finished again",
                 future.exception())


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
