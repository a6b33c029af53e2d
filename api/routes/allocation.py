"""GET /portfolios/{id}/allocation: value by asset class, sector, currency, country or security."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import DatabaseDep, IsoDate, LiveDep, PortfolioId
from api.models import AllocationOut, BucketOut
from api.queries.market import instruments_of
from api.queries.portfolios import portfolio_base_currency
from api.valuation import value_as_of, value_live
from core.allocation import allocate
from core.quote_snapshot import SnapshotQuotes

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["allocation"])
By = Literal["asset_class", "sector", "currency", "country", "security"]


@router.get("/allocation", responses={404: {"description": "unknown portfolio"},
                                      503: {"description": "worker or database unavailable"}})
async def read_allocation(
    portfolio_id: PortfolioId, live: LiveDep, database: DatabaseDep,
    by: Annotated[By, Query(description="the attribute to bucket by")] = "asset_class",
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD: from PostgreSQL; absent: live")] = None,
) -> AllocationOut:
    if as_of is None:
        state = await live.require_portfolio(portfolio_id)
        valued = value_live(state)
        instruments = SnapshotQuotes(state["market"]).instrument
    else:
        async with database.session() as session:
            base_currency = await portfolio_base_currency(session, portfolio_id)
            valued = await value_as_of(session, portfolio_id, base_currency, as_of)
            instruments = await instruments_of(session, [p.security_id for p in valued.positions])
    allocation = allocate(valued.positions, valued.cash, instruments, by)
    return AllocationOut(
        portfolio_id=portfolio_id, by=by, as_of=as_of, source="live" if as_of is None else "db",
        complete=allocation.complete,
        buckets=[BucketOut(name=b.name, mv_base=b.mv_base, weight=b.weight) for b in allocation.buckets])
