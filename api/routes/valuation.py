"""GET /portfolios/{id}/valuation: the portfolio's totals, live or as of a date."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import DatabaseDep, DbAnswersDep, IsoDate, LiveDep, PortfolioId
from api.kept_answers import live_json_answer
from api.models import ValuationOut
from api.queries.portfolios import portfolio_base_currency
from api.queries.series import income_base, income_base_now
from api.responses import valuation_out
from api.valuation import value_as_of, value_live

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["valuation"])


@router.get("/valuation", responses={404: {"description": "unknown portfolio"},
                                     503: {"description": "worker or database unavailable"}})
async def read_valuation(
    portfolio_id: PortfolioId, live: LiveDep, database: DatabaseDep, answers: DbAnswersDep,
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD: from PostgreSQL; absent: live")] = None,
) -> ValuationOut:
    if as_of is None:
        state = await live.require_portfolio(portfolio_id)
        # Income is a booked fact; PostgreSQL has it (the worker keeps no per-portfolio total).
        income = await answers.answer(portfolio_id, "income", lambda: income_base_now(database, portfolio_id))
        return live_json_answer(live, portfolio_id, state, ("valuation", str(income)),
                                lambda: valuation_out(portfolio_id, None, "live", value_live(state, income)))
    async with database.session() as session:
        base_currency = await portfolio_base_currency(session, portfolio_id)
        valued = await value_as_of(session, portfolio_id, base_currency, as_of,
                                   await income_base(session, portfolio_id, as_of))
    return valuation_out(portfolio_id, as_of, "db", valued)
