"""Position history (end-of-day state on each date a position changed)."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.rows import Page, Paged
from api.queries.tables import position_history as h


async def position_history(session: AsyncSession, portfolio_id: str, page: Page, *,
                           security_id: str | None = None, date_from: date | None = None,
                           date_to: date | None = None) -> Paged[dict[str, Any]]:
    filters = [h.c.portfolio_id == portfolio_id]
    if security_id is not None:
        filters.append(h.c.security_id == security_id)
    if date_from is not None:
        filters.append(h.c.date >= date_from)
    if date_to is not None:
        filters.append(h.c.date <= date_to)
    total = await session.scalar(select(func.count()).select_from(h).where(*filters))
    query = (
        select(h.c.security_id, h.c.date, h.c.quantity, h.c.cost_local, h.c.cost_base,
               h.c.realized_local, h.c.realized_base)
        .where(*filters)
        .order_by(h.c.date, h.c.security_id)
        .limit(page.limit).offset(page.offset)
    )
    return Paged(total or 0, [dict(r) for r in (await session.execute(query)).mappings()])
