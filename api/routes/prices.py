"""GET /prices (PostgreSQL): closing prices as stored, one per security and date.

Shared reference data: any read credential may list it (see instruments).
"""
from __future__ import annotations

from fastapi import APIRouter

from api.csv_lists import CsvListRoute
from api.deps import DateFrom, DateTo, PageDep, QueryId, SessionDep, check_date_range
from api.models import PriceOut, PricesOut
from api.queries.reference import list_prices

router = APIRouter(tags=["reference data"], route_class=CsvListRoute)


@router.get("/prices")
async def read_prices(session: SessionDep, page: PageDep, security_id: QueryId = None,
                      date_from: DateFrom = None, date_to: DateTo = None) -> PricesOut:
    """All securities' prices unless `security_id` is given; ordered by security, then date."""
    check_date_range(date_from, date_to)
    found = await list_prices(session, security_id, date_from, date_to, page)
    return PricesOut(total=found.total, limit=page.limit, offset=page.offset,
                     items=[PriceOut(**row) for row in found.items])
