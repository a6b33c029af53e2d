"""GET /portfolios/{id}/timeseries: the daily series (MV_t, In_t, Out_t) and r_t."""
from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query

from api.analytics import load_series
from api.csv_lists import CsvListRoute
from api.deps import IsoDate, KnownPortfolio, PageDep, SessionDep
from api.errors import InvalidParameter
from api.models import SeriesPointOut, TimeseriesOut
from api.queries.portfolios import get_portfolio

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["analytics"], route_class=CsvListRoute)


@router.get("/timeseries", responses={404: {"description": "unknown portfolio"}})
async def read_timeseries(
    portfolio_id: KnownPortfolio, session: SessionDep, page: PageDep,
    from_: Annotated[IsoDate | None, Query(alias="from", description="YYYY-MM-DD, inclusive")] = None,
    to: Annotated[IsoDate | None, Query(description="YYYY-MM-DD, inclusive")] = None,
) -> TimeseriesOut:
    if from_ is not None and to is not None and from_ > to:
        raise InvalidParameter("query", "from", f"from ({from_}) is after to ({to})")
    series = await load_series(session, portfolio_id, to)
    base = (await get_portfolio(session, portfolio_id))["base_currency"]
    items = [SeriesPointOut(date=row.date, mv=row.mv, inflow=row.inflow, outflow=row.outflow,
                            r=None if math.isnan(r) else float(r))
             for row, r in zip(series.rows, series.r) if from_ is None or row.date >= from_]
    return TimeseriesOut(portfolio_id=portfolio_id, base_currency=base, total=len(items),
                         limit=page.limit, offset=page.offset, items=page.slice(items))
