"""GET /portfolios/{id}/cash: live balances, or as of a date from PostgreSQL."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.csv_lists import CsvListRoute
from api.deps import DatabaseDep, IsoDate, LiveDep, PageDep, PortfolioId
from api.kept_answers import live_json_answer
from api.models import CashOut
from api.queries.portfolios import portfolio_base_currency
from api.responses import cash_out
from api.valuation import value_as_of, value_live

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["cash"], route_class=CsvListRoute)


@router.get("/cash", responses={404: {"description": "unknown portfolio"},
                                503: {"description": "worker or database unavailable"}})
async def read_cash(
    portfolio_id: PortfolioId, page: PageDep, live: LiveDep, database: DatabaseDep,
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD: from PostgreSQL; absent: live")] = None,
) -> CashOut:
    if as_of is None:
        state = await live.require_portfolio(portfolio_id)
        return live_json_answer(live, portfolio_id, state, ("cash", page),
                                lambda: cash_out(portfolio_id, None, "live", value_live(state), page))
    async with database.session() as session:
        base_currency = await portfolio_base_currency(session, portfolio_id)
        valued = await value_as_of(session, portfolio_id, base_currency, as_of)
    return cash_out(portfolio_id, as_of, "db", valued, page)
