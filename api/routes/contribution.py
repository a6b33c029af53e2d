"""GET /portfolios/{id}/contribution (PostgreSQL): each position's return over a period and
its contribution to the portfolio's (core.contribution has the rule)."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from api.analytics import resolve_window
from api.csv_lists import CsvListRoute
from api.deps import KnownPortfolio, PageDep, PeriodDep, SessionDep
from api.models import ContributionOut, ContributionRowOut
from api.queries.contribution import external_flows, position_flows
from api.queries.portfolios import portfolio_base_currency
from api.valuation import value_as_of
from core.contribution import Holding, contributions
from core.valuation import PortfolioValuation

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["analytics"], route_class=CsvListRoute)


def _values(valuation: PortfolioValuation) -> dict:
    # A closed position is worth 0 whatever its price; an open one without price or FX is unknown.
    return {p.security_id: (p.mv_base if p.open else 0) for p in valuation.positions}


@router.get("/contribution", responses={404: {"description": "unknown portfolio"}})
async def read_contribution(portfolio_id: KnownPortfolio, session: SessionDep, request: PeriodDep,
                            page: PageDep) -> ContributionOut:
    """Each position's Modified Dietz return over the period and its contribution to the
    portfolio's return; cash takes the rest, so the contributions add up to `return`."""
    base_currency = await portfolio_base_currency(session, portfolio_id)
    window = await resolve_window(session, portfolio_id, request)
    empty = dict(portfolio_id=portfolio_id, base_currency=base_currency, period=request.period, from_=window.from_,
                 to=window.to, total=0, limit=page.limit, offset=page.offset, start_value_base=None,
                 end_value_base=None, external_flows_base=None, gain_base=None, return_=None, cash_gain_base=None,
                 cash_contribution=None, items=[])
    if window.clamped is None:
        return ContributionOut(**empty)
    from_, to = window.clamped
    start = await value_as_of(session, portfolio_id, base_currency, from_ - timedelta(days=1))
    end = await value_as_of(session, portfolio_id, base_currency, to)
    flows = await position_flows(session, portfolio_id, from_, to)
    external = await external_flows(session, portfolio_id, from_, to)
    started, ended = _values(start), _values(end)
    holdings = [Holding(sid, started.get(sid, 0), ended.get(sid, 0), tuple(flows.get(sid, ())))
                for sid in sorted(started.keys() | ended.keys() | flows.keys())]
    # An unknown external flow leaves the portfolio's gain, and so every contribution, unknown.
    portfolio = Holding(portfolio_id, None if external is None else start.total_mv_base, end.total_mv_base,
                        tuple(external or ()))
    total, rows, cash = contributions(portfolio, holdings, from_, to)
    items = [ContributionRowOut(security_id=r.key, start_mv_base=r.start_value, end_mv_base=r.end_value,
                                net_flows_base=r.net_flows, gain_base=r.gain, return_=r.return_,
                                contribution=r.contribution) for r in page.slice(rows)]
    return ContributionOut(**{**empty, "from_": from_, "to": to, "total": len(rows),
                              "start_value_base": start.total_mv_base, "end_value_base": end.total_mv_base,
                              "external_flows_base": None if external is None else total.net_flows,
                              "gain_base": total.gain, "return_": total.return_, "cash_gain_base": cash.gain,
                              "cash_contribution": cash.contribution, "items": items})
