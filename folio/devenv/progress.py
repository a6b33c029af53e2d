"""How far consumer groups have got: lag per group, and waiting for it to reach 0."""
from __future__ import annotations

import asyncio
import time

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
                            settle: int = 2, interval: float = 0.5) -> float:
    """Wait until every group has lag 0 on its topics for `settle` checks in a row."""
    start = time.monotonic()
    calm = 0
    while True:
        lags = [await group_lag(bootstrap, g, ts) for g, ts in groups.items()]
        calm = calm + 1 if not any(lags) else 0
        if calm >= settle:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"consumer groups still lagging after {timeout}s: {dict(zip(groups, lags))}")
        await asyncio.sleep(interval)
