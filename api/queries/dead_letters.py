"""Dead letters (rejected events), from PostgreSQL `dead_letters`."""
from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.rows import Page
from api.queries.tables import dead_letters as d
from schemas.decode import PORTFOLIO_KEYED_TOPICS
from sink.dead_letter_lifecycle import STATES

LetterState = Literal[STATES]  # type: ignore[valid-type]

LETTER_COLUMNS = (
    d.c.source_topic, d.c.source_partition.label("partition"), d.c.source_offset.label("offset"),
    d.c.reason, d.c.field, d.c.detail, d.c.state, d.c.attempts, d.c.dead_lettered_at)
_ORDER = (d.c.dead_lettered_at, d.c.source_topic, d.c.source_partition, d.c.source_offset)


async def dead_letters(session: AsyncSession, page: Page, *, reason: str | None = None,
                       source_topic: str | None = None, state: str | None = None,
                       only: frozenset[str] | None = None,
                       ) -> tuple[dict[str, int], dict[str, int], list[dict[str, Any]]]:
    """(count by reason, count by state, one page of letters), all under the same filters.

    `only` (a caller's portfolio scope) keeps the letters keyed by one of those
    portfolios; letters of market data or without a readable key are left out,
    as they could be anyone's.
    """
    filters = []
    if only is not None:
        filters += [d.c.source_topic.in_(PORTFOLIO_KEYED_TOPICS), d.c.key_encoding == "utf-8",
                    d.c.key.in_(sorted(only))]
    if reason is not None:
        filters.append(d.c.reason == reason)
    if source_topic is not None:
        filters.append(d.c.source_topic == source_topic)
    if state is not None:
        filters.append(d.c.state == state)
    by_reason = await session.execute(
        select(d.c.reason, func.count()).where(*filters).group_by(d.c.reason).order_by(d.c.reason))
    by_state = await session.execute(
        select(d.c.state, func.count()).where(*filters).group_by(d.c.state).order_by(d.c.state))
    query = (
        select(*LETTER_COLUMNS, d.c.key, d.c.raw_value, d.c.transaction_id, d.c.raw_encoding, d.c.raw_size,
               d.c.raw_sha256, d.c.raw_truncated, d.c.key_encoding, d.c.redrive_id, d.c.redriven_at,
               d.c.resolved_at, d.c.last_failed_at)
        .where(*filters).order_by(*_ORDER).limit(page.limit).offset(page.offset)
    )
    return ({r: n for r, n in by_reason}, {s: n for s, n in by_state},
            [dict(r) for r in (await session.execute(query)).mappings()])


async def transaction_letters(session: AsyncSession, portfolio_id: str, transaction_id: str) -> list[dict[str, Any]]:
    """The letters of a `transactions` event naming this id under this portfolio's key."""
    query = (select(*LETTER_COLUMNS)
             .where(d.c.source_topic == "transactions", d.c.key == portfolio_id,
                    d.c.transaction_id == transaction_id)
             .order_by(*_ORDER))
    return [dict(r) for r in (await session.execute(query)).mappings()]
