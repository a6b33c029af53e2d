"""How far consumer groups have got: lag per group, and waiting for it to reach 0."""
from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from folio.consumer_groups import ConsumerGroup
from folio.lag import partition_lags


async def group_offsets(bootstrap: str, group: str, topics: list[str]
                        ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """End offsets of `topics` and `group`'s committed offsets on them (0 when none; missing topics: none)."""
    lags = await partition_lags(bootstrap, [ConsumerGroup(group, group, tuple(topics))])
    ends = {TopicPartition(p.topic, p.partition): p.end for p in lags}
    committed = {TopicPartition(p.topic, p.partition): p.committed for p in lags}
    return ends, committed


async def group_lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Records on `topics` not yet committed by `group` (missing topics count 0)."""
    ends, committed = await group_offsets(bootstrap, group, topics)
    return sum(max(0, ends[tp] - committed[tp]) for tp in ends)


async def wait_for_lag_zero(bootstrap: str, groups: dict[str, list[str]], timeout: float = 300.0,
                            settle: int = 2, interval: float = 0.25) -> float:
    """Wait until every group has lag 0 on its topics for `settle` checks in a row.

    One check already counts work in flight between stages (partition_lags reads every commit
    before the ends); the second is a margin kept from before that order was fixed."""
    start = time.monotonic()
    calm = 0
    while True:
        lags = dict.fromkeys(groups, 0)
        for p in await partition_lags(bootstrap, [ConsumerGroup(g, g, tuple(ts)) for g, ts in groups.items()]):
            lags[p.group_id] += p.lag
        calm = calm + 1 if not any(lags.values()) else 0
        if calm >= settle:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"consumer groups still lagging after {timeout}s: {lags}")
        await asyncio.sleep(interval)


async def topic_sizes(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """Records ever written to each topic (sum of its partitions' log ends; 0 for a missing topic)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        existing = await consumer.topics()
        tps = [TopicPartition(t, p) for t in topics if t in existing
               for p in sorted(consumer.partitions_for_topic(t) or [])]
        ends = await consumer.end_offsets(tps) if tps else {}
        return {t: sum(end for tp, end in ends.items() if tp.topic == t) for t in topics}
    finally:
        await consumer.stop()
