"""GET /portfolios/{id}/risk: volatility, ratios, drawdown, benchmark figures, VaR/CVaR."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.analytics import benchmark_series, load_series_arrays, resolve_window
from api.deps import KnownPortfolio, PeriodDep, QueryId, SessionDep
from api.errors import InvalidParameter
from api.models import RiskOut
from api.queries.market import price_history
from api.queries.portfolios import get_portfolio
from core.analytics.risk import FIGURES, risk_for_period

_FAR = date(9999, 12, 31)
router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["analytics"])


@router.get("/risk", responses={404: {"description": "unknown portfolio"}})
async def read_risk(
    portfolio_id: KnownPortfolio, session: SessionDep, request: PeriodDep,
    benchmark: Annotated[QueryId, Query(description="security_id; default the portfolio's benchmark_id")] = None,
    risk_free: Annotated[float, Query(gt=-1.0, le=1.0, description="annual risk-free rate, e.g. 0.03")] = 0.0,
    confidence: Annotated[float, Query(gt=0.0, lt=1.0, description="VaR/CVaR confidence level")] = 0.95,
) -> RiskOut:
    window = await resolve_window(session, portfolio_id, request)
    explicit = benchmark is not None
    if not explicit:
        benchmark = (await get_portfolio(session, portfolio_id))["benchmark_id"]
    # Loaded once: it both validates an explicit benchmark and gives b_t.
    history = None if benchmark is None else await price_history(session, benchmark, window.to or _FAR)
    if explicit and not history[0]:
        raise InvalidParameter("query", "benchmark", f"no prices for benchmark {benchmark!r}")
    params = dict(portfolio_id=portfolio_id, period=request.period, benchmark=benchmark,
                  risk_free=risk_free, confidence=confidence)
    if window.clamped is None:
        return RiskOut(from_=window.from_, to=window.to, **params, **dict.fromkeys(FIGURES))
    from_, to = window.clamped
    s = await load_series_arrays(session, portfolio_id, to)
    b = None if history is None else benchmark_series(history, s.dates)
    figures = risk_for_period(s.dates, s.r, b, from_, to, risk_free, confidence)
    return RiskOut(from_=from_, to=to, **params, **figures)
