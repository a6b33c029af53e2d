"""GET /portfolios/{id}/income (PostgreSQL): dividends and interest per year,
security and currency (core.income has the rule)."""
from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.csv_lists import CsvListRoute
from api.deps import DateFrom, DateTo, KnownPortfolio, PageDep, SessionDep, Year, year_range
from api.models import IncomeOut, IncomeRowOut
from api.queries.income import income_entries
from api.queries.portfolios import portfolio_base_currency
from core.income import income_rows

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["reports"], route_class=CsvListRoute)


@router.get("/income", responses={404: {"description": "unknown portfolio"}})
async def read_income(portfolio_id: KnownPortfolio, session: SessionDep, page: PageDep, year: Year = None,
                      date_from: DateFrom = None, date_to: DateTo = None) -> IncomeOut:
    """Booked DIVIDEND and INTEREST in effect (and TAX naming a security, as tax withheld),
    summed per year, security and currency; all years unless `year`, `from` or `to` narrow it."""
    date_from, date_to = year_range(year, date_from, date_to)
    rows = income_rows(await income_entries(session, portfolio_id, date_from, date_to))
    base_currency = await portfolio_base_currency(session, portfolio_id)
    return IncomeOut(portfolio_id=portfolio_id, base_currency=base_currency, total=len(rows), limit=page.limit,
                     offset=page.offset, items=[IncomeRowOut(**asdict(r)) for r in page.slice(rows)])
