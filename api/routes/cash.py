"""GET /portfolios/{id}/cash: live balances, or as of a date from PostgreSQL."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import DatabaseDep, IsoDate, LiveDep, PageDep, PortfolioId, ensure_portfolio
from api.models import CashOut
from api.queries.cash import cash_as_of
from api.queries.live import live_cash
from api.responses import cash_out

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["cash"])


@router.get("/cash", responses={404: {"description": "unknown portfolio"},
                                503: {"description": "worker or database unavailable"}})
async def read_cash(
    portfolio_id: PortfolioId, page: PageDep, live: LiveDep, database: DatabaseDep,
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD: from PostgreSQL; absent: live")] = None,
) -> CashOut:
    if as_of is None:
        state = await live.require_portfolio(portfolio_id)
        return cash_out(portfolio_id, None, "live", live_cash(state), page)
    async with database.session() as session:
        await ensure_portfolio(session, portfolio_id)
        rows = await cash_as_of(session, portfolio_id, as_of)
    return cash_out(portfolio_id, as_of, "db", rows, page)
