"""GET /portfolios, GET /portfolios/{id} (PostgreSQL)."""
from __future__ import annotations

from fastapi import APIRouter

from api.auth.deps import CurrentPrincipal
from api.csv_lists import CsvListRoute
from api.deps import PageDep, PortfolioId, SessionDep
from api.errors import unknown_portfolio
from api.models import PortfolioList, PortfolioOut
from api.queries.portfolios import get_portfolio, list_portfolios

router = APIRouter(prefix="/portfolios", tags=["portfolios"], route_class=CsvListRoute)


@router.get("")
async def read_portfolios(session: SessionDep, page: PageDep, caller: CurrentPrincipal) -> PortfolioList:
    found = await list_portfolios(session, page, only=caller.portfolios)
    return PortfolioList(total=found.total, limit=page.limit, offset=page.offset,
                         items=[PortfolioOut(**row) for row in found.items])


@router.get("/{portfolio_id}", responses={404: {"description": "unknown portfolio"}})
async def read_portfolio(portfolio_id: PortfolioId, session: SessionDep) -> PortfolioOut:
    row = await get_portfolio(session, portfolio_id)
    if row is None:
        raise unknown_portfolio(portfolio_id)
    return PortfolioOut(**row)
