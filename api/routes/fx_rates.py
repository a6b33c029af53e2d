"""GET /fx-rates (PostgreSQL): FX quotes as published (derived inverses are not listed).

Shared reference data: any read credential may list it (see instruments).
"""
from __future__ import annotations

from fastapi import APIRouter

from api.csv_lists import CsvListRoute
from api.deps import DateFrom, DateTo, PageDep, QueryCurrency, SessionDep, check_date_range
from api.models import FxRateOut, FxRatesOut
from api.queries.reference import list_fx_rates

router = APIRouter(tags=["reference data"], route_class=CsvListRoute)


@router.get("/fx-rates")
async def read_fx_rates(session: SessionDep, page: PageDep, from_currency: QueryCurrency = None,
                        to_currency: QueryCurrency = None, date_from: DateFrom = None,
                        date_to: DateTo = None) -> FxRatesOut:
    """Ordered by pair, then date."""
    check_date_range(date_from, date_to)
    found = await list_fx_rates(session, from_currency, to_currency, date_from, date_to, page)
    return FxRatesOut(total=found.total, limit=page.limit, offset=page.offset,
                      items=[FxRateOut(**row) for row in found.items])
