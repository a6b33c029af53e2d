"""GET /portfolios/{id}/performance: TWR (and annualized) and MWR over a period."""
from __future__ import annotations

from fastapi import APIRouter

from api.analytics import load_series_arrays, resolve_window
from api.deps import KnownPortfolio, PeriodDep, SessionDep
from api.models import PerformanceOut
from core.analytics.performance import performance

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["analytics"])


@router.get("/performance", responses={404: {"description": "unknown portfolio"}})
async def read_performance(portfolio_id: KnownPortfolio, session: SessionDep, request: PeriodDep) -> PerformanceOut:
    window = await resolve_window(session, portfolio_id, request)
    if window.clamped is None:
        return PerformanceOut(portfolio_id=portfolio_id, period=request.period, from_=window.from_, to=window.to,
                              days=None, twr=None, twr_annualized=None, mwr_annualized=None, mwr_period=None)
    from_, to = window.clamped
    s = await load_series_arrays(session, portfolio_id, to)
    figures = performance(s.dates, s.mv, s.inflow, s.outflow, s.r, from_, to)
    return PerformanceOut(portfolio_id=portfolio_id, period=request.period,
                          **{("from_" if k == "from" else k): v for k, v in figures.items()})
