"""GET /portfolios/{id}/position-history (PostgreSQL)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.csv_lists import CsvListRoute
from api.deps import IsoDate, KnownPortfolio, PageDep, QueryId, SessionDep, check_date_range
from api.models import PositionHistoryOut, PositionHistoryRow
from api.queries.history import position_history

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["positions"], route_class=CsvListRoute)


@router.get("/position-history", responses={404: {"description": "unknown portfolio"}})
async def read_position_history(
    portfolio_id: KnownPortfolio, session: SessionDep, page: PageDep,
    security_id: QueryId = None,
    date_from: Annotated[IsoDate | None, Query(alias="from", description="on or after")] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to", description="on or before")] = None,
) -> PositionHistoryOut:
    check_date_range(date_from, date_to)
    found = await position_history(session, portfolio_id, page, security_id=security_id,
                                   date_from=date_from, date_to=date_to)
    return PositionHistoryOut(portfolio_id=portfolio_id, total=found.total, limit=page.limit,
                              offset=page.offset, items=[PositionHistoryRow(**row) for row in found.items])
