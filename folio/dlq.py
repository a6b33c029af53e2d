"""Inspect and re-publish dead letters (`folio dlq list`, `folio dlq redrive`).

A dead letter is a JSON object on `dead_letters`, keyed by the original key,
with at least: source_topic, partition, offset, key, raw_value, reason,
field, transaction_id.

Redrive progress is the committed offset of consumer group
`folio-dlq-redrive` on `dead_letters`: each run re-publishes only what lies
past it, then commits. A crash between publishing and committing can publish
a letter twice; Folio's consumers are idempotent (duplicate versions change
nothing, an invalid event is simply dead-lettered again), so that is safe.

Reads stop at the high watermark that the fetch responses report, not at
ListOffsets, which the development broker answers wrongly (see
folio.devenv.tansu_highwater); this works the same on real Kafka.
"""
from __future__ import annotations

import heapq
import json
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from folio.log_end import fetch_until_end

from folio.produce import Event, kafka_producer, send_all
from schemas.events import letter_bytes
from streams.dead_letters import DEAD_LETTERS_TOPIC

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


async def redrive(bootstrap: str, *, group_id: str = REDRIVE_GROUP) -> int:
    """Re-publish each dead letter not redriven before; return how many were published.

    Every letter goes to its `source_topic` with its original key and its
    `raw_value` (the original message as text) encoded as UTF-8. Letters that cannot be redriven (no source topic
    or raw value) are logged and skipped, and count as done.
    """
    consumer = _reader(bootstrap, group_id=group_id)
    try:
        await consumer.start()
        partitions = await _dead_letter_partitions(consumer)
        if not partitions:
            return 0
        # Manual assignment with explicit commits: no group join (which tansu
        # delays by half the session timeout) and exact control of progress.
        consumer.assign(partitions)
        await _seek_to_committed(consumer, partitions)
        records = await read_to_end(consumer, partitions)
        if not records:
            return 0
        events = [event for event in map(_redrive_event, records) if event is not None]
        producer = kafka_producer(bootstrap, client_id="folio-dlq-redrive")
        try:
            await producer.start()
            published = await send_all(producer, events)
        finally:
            await producer.stop()
        await consumer.commit(_next_offsets(records))
    finally:
        await consumer.stop()
    log.info("redrove %d of %d dead letters", published, len(records))
    return published


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


def _redrive_event(record: ConsumerRecord) -> Event | None:
    letter = _parse(record)
    where = f"{record.topic}[{record.partition}]@{record.offset}"
    if letter is None:
        log.warning("skipping %s: not a JSON object", where)
        return None
    source_topic, raw_value, key = letter.get("source_topic"), letter.get("raw_value"), letter.get("key")
    if not isinstance(source_topic, str) or not source_topic or not isinstance(raw_value, str):
        log.warning("skipping %s: needs a source_topic and a raw_value string", where)
        return None
    if letter.get("raw_truncated"):
        log.warning("skipping %s: it keeps only the head of a %s-byte value", where, letter.get("raw_size"))
        return None
    # The dead letter's own Kafka key is the original key too: the fallback.
    return Event(source_topic, letter_bytes(key, letter.get("key_encoding")) if isinstance(key, str) else record.key,
                 letter_bytes(raw_value, letter.get("raw_encoding")))

