"""Packs the `transactions` topic into record batches for the positions agent.

Faust spends about 100 µs of framework time on every message it streams
(measured here: an agent that does nothing tops out near 10k messages/s),
which alone would cap a worker below 10k transactions/s. This stage reads
`transactions` with a plain consumer group, packs each partition's new
records (with their source offsets) into messages on an internal topic
with the same partitioning, and commits the source offsets once every
message is acknowledged. The agent then pays the framework cost once per batch.

A batch message never exceeds BATCH_BYTES (under Kafka's default 1 MiB
message limit): a partition's records are split by size, and a single record
too large to forward even alone is dead-lettered here (`record_too_large`,
with its head, size and sha256) instead of stopping the stage. A failure to
produce (broker down) is retried with backoff from the last commit.

Ordering and arrival are unchanged: a batch keeps its partition's records in
offset order, lands on the same partition number, and every record keeps its
source offset (the arrival the ledger orders ties by). A crash between
producing and committing re-sends records that the ledger already applied:
they are duplicates, and change nothing (a re-sent dead letter is stored once
per source offset).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from folio import telemetry
from folio.faults import fault_point
from streams.batch_codec import HEADER_BYTES, pack, packed_size
from streams.reference_feed import FETCH_WAIT_MS
from streams.dead_letters import DEAD_LETTERS_TOPIC, dead_letter, letter_key, letter_value

log = logging.getLogger(__name__)

# The largest batch message produced; the producer allows a little more for
# Kafka's own record framing.
BATCH_BYTES = 900 << 10
RECORD_TOO_LARGE = "record_too_large"
STOP_WAIT = 2.0


def split_by_size(records: Sequence[Any], limit: int = BATCH_BYTES) -> tuple[list[list[Any]], list[Any]]:
    """(batches in offset order, each packing to at most `limit` bytes; records too large alone)."""
    batches: list[list[Any]] = []
    too_large: list[Any] = []
    current: list[Any] = []
    size = HEADER_BYTES
    for r in records:
        n = packed_size(r.key, r.value)
        if HEADER_BYTES + n > limit:
            too_large.append(r)
            continue
        if size + n > limit:
            batches.append(current)
            current, size = [], HEADER_BYTES
        current.append(r)
        size += n
    if current:
        batches.append(current)
    return batches, too_large


class TransactionBatcher:
    def __init__(self, bootstrap: str, source: str, target: str, group_id: str,
                 max_records: int = 5000, max_wait_ms: int = 20, session_timeout_ms: int = 10_000) -> None:
        self.bootstrap = bootstrap
        self.source = source
        self.target = target
        self.group_id = group_id
        self.max_records = max_records
        self.max_wait_ms = max_wait_ms
        # The same session timeout as the worker's Faust consumer: a dead worker's
        # partitions then move to the survivor's batcher as soon as its tables do.
        self.session_timeout_ms = session_timeout_ms
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task | None = None
        self.batched = 0

    async def start(self) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=0,
                                         max_request_size=BATCH_BYTES + (64 << 10), max_batch_size=1 << 20)
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.group_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=min(3000, max(100, self.session_timeout_ms // 3)),
            max_partition_fetch_bytes=8 << 20, fetch_max_bytes=64 << 20,
            fetch_max_wait_ms=FETCH_WAIT_MS)  # as the feeds: a broker may hold a fetch this long
        await self.consumer.start()
        # Subscribed after start, the group is joined in the background (the first fetch waits
        # for the assignment) instead of holding the worker's readiness: a broker may hold a
        # group's first join for seconds (tansu: half the session timeout), and the worker's
        # tables can answer meanwhile.
        self.consumer.subscribe([self.source])
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self.consumer is not None:
            try:
                # Leaving the group lets the others rebalance at once, but a consumer stopped while
                # its join is held by the broker would wait for the join first; the session timeout
                # frees its partitions anyway.
                await asyncio.wait_for(self.consumer.stop(), STOP_WAIT)
            except asyncio.TimeoutError:
                log.warning("batcher: its consumer did not leave the group within %.0fs (a join in progress); "
                            "stopping without waiting for it", STOP_WAIT)
        if self.producer is not None:
            await self.producer.stop()

    async def _forward(self, partition: int, records: Sequence[Any]) -> list[asyncio.Future]:
        batches, too_large = split_by_size(records)
        pending = [await self.producer.send(self.target, pack((r.offset, r.key, r.value) for r in batch),
                                            partition=partition) for batch in batches]
        for r in too_large:
            size = packed_size(r.key, r.value)
            letter = dead_letter(r.topic, r.partition, r.offset, r.key, r.value, RECORD_TOO_LARGE, None,
                                 f"batcher: a record of {size} bytes exceeds the {BATCH_BYTES}-byte batch limit")
            telemetry.count_outcomes("batcher", [], [letter])  # logs it, with where the record is
            pending.append(await self.producer.send(DEAD_LETTERS_TOPIC, letter_value(letter), key=letter_key(letter)))
        self.batched += len(records)
        telemetry.count_outcomes("batcher", records, [])
        return pending

    async def _run(self) -> None:
        delay = 0.2
        while True:
            try:
                fetched = await self.consumer.getmany(timeout_ms=200, max_records=self.max_records)
                if not fetched:
                    continue
                pending = []
                for tp, records in fetched.items():
                    pending += await self._forward(tp.partition, records)
                await asyncio.gather(*pending)
                fault_point("batcher:after_send")
                await self.consumer.commit()
                delay = 0.2
            except asyncio.CancelledError:
                raise
            except Exception:
                # Nothing was committed for what failed: it is fetched again.
                log.exception("batching failed; retrying from the last commit in %.1fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                telemetry.count_retry("broker")
                for tp in self.consumer.assignment():
                    committed = await self.consumer.committed(tp)
                    if committed is not None:
                        self.consumer.seek(tp, committed)
                    else:
                        await self.consumer.seek_to_beginning(tp)
