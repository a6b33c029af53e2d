"""`folio series rebuild`: recompute whole daily series (after a lost marks backlog,
a restored database, or a change to the series rules)."""
from __future__ import annotations

from collections.abc import Iterable

import asyncpg
import orjson

from folio.produce import Event, produce_events
from sink.runner import SERIES_MARKS_TOPIC


async def all_portfolios(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["portfolio_id"] for r in await conn.fetch("SELECT portfolio_id FROM portfolios ORDER BY 1")]
    finally:
        await conn.close()


async def rebuild(bootstrap: str, portfolio_ids: Iterable[str]) -> int:
    """Mark each portfolio's whole series stale; the series topology recomputes it."""
    events = [Event(SERIES_MARKS_TOPIC, pid.encode(),
                    orjson.dumps({"portfolio_id": pid, "from": None, "to": None})) for pid in portfolio_ids]
    await produce_events(bootstrap, events)
    return len(events)
