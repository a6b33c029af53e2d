"""Dead letters (rejected events), from PostgreSQL `dead_letters`."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.rows import Page
from api.queries.tables import dead_letters as d


async def dead_letters(session: AsyncSession, page: Page, *, reason: str | None = None,
                       source_topic: str | None = None) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """(count by reason, one page of letters), both under the same filters."""
    filters = []
    if reason is not None:
        filters.append(d.c.reason == reason)
    if source_topic is not None:
        filters.append(d.c.source_topic == source_topic)
    counts = await session.execute(
        select(d.c.reason, func.count()).where(*filters).group_by(d.c.reason).order_by(d.c.reason))
    query = (
        select(d.c.source_topic, d.c.source_partition.label("partition"), d.c.source_offset.label("offset"),
               d.c.key, d.c.raw_value, d.c.reason, d.c.field, d.c.transaction_id, d.c.detail,
               d.c.dead_lettered_at, d.c.raw_encoding, d.c.raw_size, d.c.raw_sha256, d.c.raw_truncated,
               d.c.key_encoding)
        .where(*filters)
        .order_by(d.c.dead_lettered_at, d.c.source_topic, d.c.source_partition, d.c.source_offset)
        .limit(page.limit).offset(page.offset)
    )
    return {r: n for r, n in counts}, [dict(r) for r in (await session.execute(query)).mappings()]
