"""Positions and lots, from PostgreSQL (`position_history`, `positions`, `lots`)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.rows import LotRow, PositionRow
from api.queries.tables import lots, position_history, positions

h, p = position_history, positions


async def positions_as_of(session: AsyncSession, portfolio_id: str, as_of: date) -> list[PositionRow]:
    """Each listed position's end-of-day state on `as_of`: its latest history
    row dated on or before it (positions not yet opened then are left out)."""
    query = (
        select(h.c.security_id, p.c.currency, h.c.quantity, h.c.cost_local, h.c.cost_base,
               h.c.realized_local, h.c.realized_base)
        .join(p, and_(p.c.portfolio_id == h.c.portfolio_id, p.c.security_id == h.c.security_id))
        .where(h.c.portfolio_id == portfolio_id, h.c.date <= as_of, p.c.listed)
        .ext(distinct_on(h.c.security_id))
        .order_by(h.c.security_id, h.c.date.desc())
    )
    return [PositionRow(**row) for row in (await session.execute(query)).mappings()]


async def position_listed(session: AsyncSession, portfolio_id: str, security_id: str) -> bool:
    found = await session.scalar(
        select(p.c.listed).where(p.c.portfolio_id == portfolio_id, p.c.security_id == security_id))
    return bool(found)


async def open_lots(session: AsyncSession, portfolio_id: str, security_id: str) -> list[LotRow]:
    query = (
        select(lots.c.transaction_id, lots.c.open_date, lots.c.arrival, lots.c.quantity,
               lots.c.cost_local, lots.c.cost_base)
        .where(lots.c.portfolio_id == portfolio_id, lots.c.security_id == security_id)
        .order_by(lots.c.open_date, lots.c.arrival, lots.c.transaction_id)
    )
    return [LotRow(**row) for row in (await session.execute(query)).mappings()]
