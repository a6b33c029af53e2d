"""GET /portfolios/{id}/performance: TWR (and annualized) and MWR over a period."""
from __future__ import annotations

from fastapi import APIRouter, Response

from api.analytics import PeriodRequest, arrays_of, window_on
from api.db import Database
from api.deps import DatabaseDep, DbAnswersDep, PeriodDep, PortfolioId
from api.errors import unknown_portfolio
from api.kept_answers import JSON_MEDIA_TYPE, json_body
from api.models import PerformanceOut
from api.queries.series import period_inputs
from core.analytics.performance import performance

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["analytics"])


@router.get("/performance", responses={404: {"description": "unknown portfolio"}})
async def read_performance(portfolio_id: PortfolioId, database: DatabaseDep, answers: DbAnswersDep,
                           request: PeriodDep) -> PerformanceOut:
    request.check()  # before anything is read or kept: a 422 costs nothing and is never kept
    body = await answers.answer(portfolio_id, ("performance", request),
                                lambda: _performance(database, portfolio_id, request), len)
    return Response(body, media_type=JSON_MEDIA_TYPE)


async def _performance(database: Database, portfolio_id: str, request: PeriodRequest) -> bytes:
    # One round trip for everything it reads (api.queries.series.period_inputs): a session's
    # five (pre-ping, portfolio, first trade, horizon, series) were most of this answer's cost.
    found = await period_inputs(database, portfolio_id)
    if not found.known:
        raise unknown_portfolio(portfolio_id)
    window = window_on(request, found.first_date, request.as_of or request.to or found.horizon)
    if window.clamped is None:
        return json_body(PerformanceOut(portfolio_id=portfolio_id, period=request.period, from_=window.from_,
                                        to=window.to, days=None, twr=None, twr_annualized=None,
                                        mwr_annualized=None, mwr_period=None))
    from_, to = window.clamped
    s = arrays_of(found.arrays, to)
    figures = performance(s.dates, s.mv, s.inflow, s.outflow, s.r, from_, to)
    return json_body(PerformanceOut(portfolio_id=portfolio_id, period=request.period,
                                    **{("from_" if k == "from" else k): v for k, v in figures.items()}))
