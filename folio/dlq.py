"""Inspect and re-publish dead letters (`folio dlq list`, `folio dlq redrive`).

A dead letter is a JSON object on `dead_letters`, keyed by the original key,
with at least: source_topic, partition, offset, key, raw_value, reason,
field, transaction_id.

Redrive progress is the committed offset of consumer group
`folio-dlq-redrive` on `dead_letters`: each run re-publishes only what lies
past it, then commits. A crash between publishing and committing can publish
a letter twice; Folio's consumers are idempotent (duplicate versions change
nothing, an invalid event is simply dead-lettered again), so that is safe.

With a database (`DATABASE_URL`), each run gets a redrive id and records in
PostgreSQL where each letter's record was re-published (the producer's
answer), and marks the letter `redriven`; the sink then marks it `resolved`
or `failed_again` (sink.dead_letter_lifecycle). `letters_with_state` lists
letters from there, one per original source, with state and attempts.

A letter whose raw value was truncated (letters stay under the broker's size
limit) is redriven from the original record, re-read at its source
(topic, partition, offset); if that record is gone it is refused with a
message, not re-published.

Reads stop at the high watermark that the fetch responses report, not at
ListOffsets, which the development broker answers wrongly (see
folio.devenv.tansu_highwater); this works the same on real Kafka.
"""
from __future__ import annotations

import asyncio
import heapq
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from folio.log_end import fetch_until_end
from folio.produce import Event, kafka_producer
from schemas.events import letter_bytes
from sink.dead_letter_lifecycle import Redriven, record_redrive
from streams.dead_letters import DEAD_LETTERS_TOPIC, INVALID_PENDING_BATCH

log = logging.getLogger(__name__)

REDRIVE_GROUP = "folio-dlq-redrive"
_STALL_TIMEOUT_S = 30.0


async def list_dead_letters(bootstrap: str) -> list[dict]:
    """Every dead letter on the topic, oldest first.

    Each is the dead letter's own JSON object plus `dead_letter_partition` and
    `dead_letter_offset` (where it sits on `dead_letters`). A value that is not
    a JSON object is listed as `{"unreadable_dead_letter": <text>}`.
    """
    consumer = _reader(bootstrap)
    try:
        await consumer.start()
        partitions = await _dead_letter_partitions(consumer)
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records = await read_to_end(consumer, partitions)
    finally:
        await consumer.stop()
    return [_as_listed(record) for record in records]


@dataclass
class RedriveReport:
    redrive_id: str
    published: int = 0
    refused: list[str] = field(default_factory=list)  # one message per letter not re-published
    # Each re-published letter's identity: its original (source_topic, partition, offset).
    letters: list[tuple[str, int, int]] = field(default_factory=list)

    def letter_ids(self) -> list[dict[str, str | int]]:
        """The re-published letters as JSON (what the audit log records)."""
        return [{"source_topic": t, "partition": p, "offset": o} for t, p, o in self.letters]

    def audit_detail(self) -> dict[str, object]:
        return {"redrive_id": self.redrive_id, **({"refused": self.refused} if self.refused else {})}


async def redrive(bootstrap: str, *, group_id: str = REDRIVE_GROUP, database_url: str | None = None) -> int:
    """`redrive_run`, answering only how many letters were re-published."""
    return (await redrive_run(bootstrap, group_id=group_id, database_url=database_url)).published


async def redrive_run(bootstrap: str, *, group_id: str = REDRIVE_GROUP,
                      database_url: str | None = None) -> RedriveReport:
    """Re-publish each dead letter not redriven before.

    Every letter goes to its `source_topic` with its original key and its
    `raw_value` (the original message as text) encoded as UTF-8, or the
    original record when the raw value was truncated. Letters that cannot be
    redriven are refused (logged, listed in the report) and count as done.
    """
    report = RedriveReport(f"R-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}")
    consumer = _reader(bootstrap, group_id=group_id)
    try:
        await consumer.start()
        partitions = await _dead_letter_partitions(consumer)
        if not partitions:
            return report
        # Manual assignment with explicit commits: no group join (which tansu
        # delays by half the session timeout) and exact control of progress.
        consumer.assign(partitions)
        await _seek_to_committed(consumer, partitions)
        records = await read_to_end(consumer, partitions)
        if not records:
            return report
        letters = []
        for record in records:
            found = await _redrive_event(bootstrap, record)
            if isinstance(found, str):
                log.warning("%s", found)
                report.refused.append(found)
            else:
                letters.append(found)
        redriven = await _publish(bootstrap, letters)
        report.published = len(redriven)
        report.letters = [(r[4], r[5], r[6]) for r in redriven]
        if database_url and redriven:
            conn = await asyncpg.connect(database_url)
            try:
                await record_redrive(conn, report.redrive_id, datetime.now(timezone.utc), redriven)
            finally:
                await conn.close()
        await consumer.commit(_next_offsets(records))
    finally:
        await consumer.stop()
    log.info("redrive %s: re-published %d of %d dead letters", report.redrive_id, report.published, len(records))
    return report


async def letters_with_state(database_url: str) -> list[dict]:
    """The letters PostgreSQL keeps (one per original source), oldest first, with their lifecycle."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT source_topic, source_partition AS partition, source_offset AS offset, key, reason, field,"
            " transaction_id, detail, dead_lettered_at, state, attempts, redrive_id, redriven_at, resolved_at,"
            " last_failed_at FROM dead_letters"
            " ORDER BY dead_lettered_at, source_topic, source_partition, source_offset")
    finally:
        await conn.close()
    return [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in r.items()} for r in rows]


# A letter to re-publish: the event, and where the letter says it came from.
_Letter = tuple[Event, tuple[str, int, int]]


async def _publish(bootstrap: str, letters: Sequence[_Letter]) -> list[Redriven]:
    """Publish in order; where each landed (from the producer's answers) with its letter's source."""
    if not letters:
        return []
    producer = kafka_producer(bootstrap, client_id="folio-dlq-redrive")
    try:
        await producer.start()
        pending = [await producer.send(event.topic, event.value, key=event.key) for event, _ in letters]
        answers = await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return [(md.topic, md.partition, md.offset, event.key.decode("utf-8", "replace") if event.key else None,
             *source) for md, (event, source) in zip(answers, letters)]


async def read_to_end(consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition]) -> list[ConsumerRecord]:
    """Consume the assigned `partitions` from their positions up to their current end.

    Partitions are merged by timestamp; each partition stays in offset order
    (so each key keeps its order even if the clock stepped back).
    """
    by_partition: dict[TopicPartition, list[ConsumerRecord]] = {tp: [] for tp in partitions}
    async for batches in fetch_until_end(consumer, partitions, stall_timeout=_STALL_TIMEOUT_S):
        for tp, batch in batches.items():
            by_partition[tp].extend(batch)
    return list(heapq.merge(*by_partition.values(), key=lambda r: (r.timestamp, r.partition)))


def _reader(bootstrap: str, group_id: str | None = None) -> AIOKafkaConsumer:
    # A short fetch wait: an empty partition's end is known only once the
    # broker answers a fetch, which it holds back up to fetch_max_wait_ms.
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False, fetch_max_wait_ms=20
    )


async def _dead_letter_partitions(consumer: AIOKafkaConsumer) -> list[TopicPartition]:
    if DEAD_LETTERS_TOPIC not in await consumer.topics():
        return []
    numbers = consumer.partitions_for_topic(DEAD_LETTERS_TOPIC) or set()
    return [TopicPartition(DEAD_LETTERS_TOPIC, n) for n in sorted(numbers)]


async def _seek_to_committed(consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition]) -> None:
    # committed() names its partition in the OffsetFetch request, which tansu
    # needs: its answer to a whole-group OffsetFetch cannot be decoded.
    never_redriven = []
    for tp in partitions:
        committed = await consumer.committed(tp)
        if committed is None:
            never_redriven.append(tp)
        else:
            consumer.seek(tp, committed)
    if never_redriven:
        await consumer.seek_to_beginning(*never_redriven)


def _next_offsets(records: Sequence[ConsumerRecord]) -> dict[TopicPartition, int]:
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    return offsets


def _parse(record: ConsumerRecord) -> dict | None:
    try:
        letter = json.loads(record.value)
    except (TypeError, ValueError):
        return None
    return letter if isinstance(letter, dict) else None


def _as_listed(record: ConsumerRecord) -> dict:
    letter = _parse(record)
    if letter is None:
        raw = record.value.decode("utf-8", "replace") if record.value is not None else None
        letter = {"unreadable_dead_letter": raw}
    return {**letter, "dead_letter_partition": record.partition, "dead_letter_offset": record.offset}


async def _redrive_event(bootstrap: str, record: ConsumerRecord) -> _Letter | str:
    """The event to re-publish and its letter's source, or why not (a message)."""
    letter = _parse(record)
    where = f"dead letter {record.topic}[{record.partition}]@{record.offset}"
    if letter is None:
        return f"skipping {where}: not a JSON object"
    source_topic, raw_value, key = letter.get("source_topic"), letter.get("raw_value"), letter.get("key")
    if letter.get("reason") == INVALID_PENDING_BATCH:
        # A worker's own write-ahead record: it was unreadable, and written back it would be again.
        return f"refusing {where}: an unreadable pending batch of a positions worker is not an event to redrive"
    if not isinstance(source_topic, str) or not source_topic or not isinstance(raw_value, str):
        return f"skipping {where}: needs a source_topic and a raw_value string"
    partition, offset = letter.get("partition"), letter.get("offset")
    source = (source_topic, partition if isinstance(partition, int) else -1, offset if isinstance(offset, int) else -1)
    # The dead letter's own Kafka key is the original key too: the fallback.
    key_bytes = letter_bytes(key, letter.get("key_encoding")) if isinstance(key, str) else record.key
    if not letter.get("raw_truncated"):
        return Event(source_topic, key_bytes, letter_bytes(raw_value, letter.get("raw_encoding"))), source
    original = await _original_record(bootstrap, *source)
    if original is None:
        return (f"refusing {where}: its raw value was truncated and the original record "
                f"{source_topic}[{source[1]}]@{source[2]} is gone")
    return Event(source_topic, original.key, original.value or b""), source


async def _original_record(bootstrap: str, topic: str, partition: int, offset: int) -> ConsumerRecord | None:
    """The record at (topic, partition, offset), or None if the log no longer (or never) held it."""
    if partition < 0 or offset < 0:
        return None
    consumer = _reader(bootstrap)
    tp = TopicPartition(topic, partition)
    try:
        await consumer.start()
        if topic not in await consumer.topics() or partition not in (consumer.partitions_for_topic(topic) or ()):
            return None
        consumer.assign([tp])
        if offset < (await consumer.beginning_offsets([tp]))[tp]:
            return None
        consumer.seek(tp, offset)
        async for batches in fetch_until_end(consumer, [tp], stall_timeout=_STALL_TIMEOUT_S):
            for r in batches.get(tp, []):
                if r.offset >= offset:
                    return r if r.offset == offset else None
    finally:
        await consumer.stop()
    return None
