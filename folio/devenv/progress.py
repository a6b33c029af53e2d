"""How far consumer groups have got: lag per group, and waiting for it to reach 0."""
from __future__ import annotations

import asyncio
import time

from folio.consumer_groups import ConsumerGroup
from folio.lag import partition_lags


async def group_lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Records on `topics` not yet committed by `group` (missing topics count 0)."""
    return sum(p.lag for p in await partition_lags(bootstrap, [ConsumerGroup(group, group, tuple(topics))]))


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
