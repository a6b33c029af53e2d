"""Reading partitions up to their true end, on any Kafka-protocol broker.

The end is taken from fetch responses (the high watermark each one carries),
not from ListOffsets: the development broker under-reports the latter when a
partition's last batch held several records.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition


class StalledRead(TimeoutError):
    """Partitions stopped making progress before reaching their end."""


async def reached_end(consumer: AIOKafkaConsumer, tp: TopicPartition) -> bool:
    highwater = consumer.highwater(tp)  # known once a fetch response arrived
    return highwater is not None and await consumer.position(tp) >= highwater


async def fetch_until_end(
    consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition], *,
    poll_ms: int = 50, stall_timeout: float = 30.0,
) -> AsyncIterator[dict[TopicPartition, list[ConsumerRecord]]]:
    """Yield fetched batches of the assigned `partitions` until each is at its end.

    A partition that reached its end is paused, so later fetches skip it.
    Use a consumer with a short `fetch_max_wait_ms`: an empty partition's end
    is known only once the broker answers a fetch, which it may hold back.
    """
    pending = set(partitions)
    last_progress = time.monotonic()
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=poll_ms)
        if batches:
            yield batches
        finished = {tp for tp in pending if await reached_end(consumer, tp)}
        if batches or finished:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > stall_timeout:
            raise StalledRead(f"no progress reading {sorted(pending)} for {stall_timeout:.0f}s")
        if finished:
            consumer.pause(*finished)
            pending -= finished
