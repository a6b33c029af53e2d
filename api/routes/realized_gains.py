"""GET /portfolios/{id}/realized-gains (PostgreSQL): one item per closed lot (core.realized has the rule)."""
from __future__ import annotations

from fastapi import APIRouter

from api.csv_lists import CsvListRoute
from api.deps import DateFrom, DateTo, KnownPortfolio, PageDep, QueryId, SessionDep, Year, year_range
from api.models import RealizedGainOut, RealizedGainsOut
from api.queries.portfolios import portfolio_base_currency
from api.queries.realized import list_realized_lots
from core.realized import holding_days

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["reports"], route_class=CsvListRoute)


def _item(row: dict) -> RealizedGainOut:
    return RealizedGainOut(**{k: v for k, v in row.items() if k in RealizedGainOut.model_fields},
                           holding_days=holding_days(row["open_date"], row["close_date"]))


@router.get("/realized-gains", responses={404: {"description": "unknown portfolio"}})
async def read_realized_gains(portfolio_id: KnownPortfolio, session: SessionDep, page: PageDep, year: Year = None,
                              date_from: DateFrom = None, date_to: DateTo = None,
                              security_id: QueryId = None) -> RealizedGainsOut:
    """Each lot (or part of a lot) a closing trade in effect relieved, with its gain; per closing
    trade the gains sum to its `realized_local`/`realized_base`. Filtered by the close date (`year`,
    `from`, `to`) and `security_id`; ordered by close date, closing trade, then relief order."""
    date_from, date_to = year_range(year, date_from, date_to)
    found = await list_realized_lots(session, portfolio_id, security_id, date_from, date_to, page)
    base_currency = await portfolio_base_currency(session, portfolio_id)
    return RealizedGainsOut(portfolio_id=portfolio_id, base_currency=base_currency, total=found.total,
                            limit=page.limit, offset=page.offset, items=[_item(row) for row in found.items])
