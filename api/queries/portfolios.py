"""Portfolios, from PostgreSQL `portfolios`."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import unknown_portfolio
from api.queries.rows import Page, Paged
from api.queries.tables import portfolios

_COLUMNS = (portfolios.c.portfolio_id, portfolios.c.name, portfolios.c.base_currency,
            portfolios.c.cost_method, portfolios.c.open_date, portfolios.c.benchmark_id)


async def list_portfolios(session: AsyncSession, page: Page,
                          only: frozenset[str] | None = None) -> Paged[dict[str, Any]]:
    """One page of portfolios; `only` (a caller's scope) leaves out every other."""
    filters = [] if only is None else [portfolios.c.portfolio_id.in_(sorted(only))]
    total = await session.scalar(select(func.count()).select_from(portfolios).where(*filters))
    rows = await session.execute(
        select(*_COLUMNS).where(*filters).order_by(portfolios.c.portfolio_id).limit(page.limit).offset(page.offset))
    return Paged(total or 0, [dict(r) for r in rows.mappings()])


async def get_portfolio(session: AsyncSession, portfolio_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(*_COLUMNS).where(portfolios.c.portfolio_id == portfolio_id))).mappings().first()
    return None if row is None else dict(row)


async def portfolio_exists(session: AsyncSession, portfolio_id: str) -> bool:
    found = await session.scalar(select(portfolios.c.portfolio_id).where(portfolios.c.portfolio_id == portfolio_id))
    return found is not None


async def portfolio_base_currency(session: AsyncSession, portfolio_id: str) -> str:
    """The portfolio's base currency; 404 for an unknown portfolio."""
    found = await session.scalar(select(portfolios.c.base_currency).where(portfolios.c.portfolio_id == portfolio_id))
    if found is None:
        raise unknown_portfolio(portfolio_id)
    return found
