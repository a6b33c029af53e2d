"""Every worker's own full view of a reference topic (all partitions, no group).

Transactions are partitioned by portfolio but FX rates by pair, so each
worker valuing or booking any portfolio needs every rate. The feed reads the
whole topic into memory and can be asked to catch up with the log end before a
lookup is declared missing, so "published before" means "seen".
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)
FETCH_WAIT_MS = int(os.environ.get("FOLIO_FEED_FETCH_WAIT_MS", "50"))


class ReferenceFeed:
    def __init__(self, bootstrap: str, topic: str, apply: Callable[[bytes | None, bytes | None], None]) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.apply = apply
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self.records = 0

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False,
            auto_offset_reset="earliest", group_id=None,
            # A new price should reach live valuations within tens of ms: a
            # broker may hold a fetch until this wait ends (Kafka's default 500).
            fetch_max_wait_ms=FETCH_WAIT_MS,
        )
        await self._consumer.start()
        parts = None
        for _ in range(100):
            parts = self._consumer.partitions_for_topic(self.topic)
            if parts:
                break
            await self._consumer.topics()
            await asyncio.sleep(0.1)
        self._partitions = [TopicPartition(self.topic, p) for p in sorted(parts or [])]
        self._consumer.assign(self._partitions)
        await self._consumer.seek_to_beginning(*self._partitions)
        await self.catch_up()
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self._consumer:
            await self._consumer.stop()

    async def _drain(self, timeout_ms: int) -> int:
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=10_000)
        n = 0
        for records in batches.values():
            for record in records:
                try:
                    self.apply(record.key, record.value)
                except Exception:  # the screening agent dead-letters what it cannot read; never stop the feed
                    log.exception("%s[%s]@%s not applied", record.topic, record.partition, record.offset)
                n += 1
        self.records += n
        return n

    async def _follow(self) -> None:
        while True:
            async with self._lock:
                await self._drain(timeout_ms=50)
            await asyncio.sleep(0)

    async def catch_up(self) -> None:
        """Return once everything on the topic right now has been applied."""
        async with self._lock:
            ends = await self._consumer.end_offsets(self._partitions)
            while not await self._reached(ends):
                await self._drain(timeout_ms=100)

    async def _reached(self, ends: dict[TopicPartition, int]) -> bool:
        for tp, end in ends.items():
            if await self._consumer.position(tp) < end:
                return False
        return True
