"""GET /instruments and /instruments/{security_id} (PostgreSQL).

Reference data is shared by all portfolios and reveals none, so any read
credential may list it, a portfolio-scoped one too.
"""
from __future__ import annotations

from fastapi import APIRouter

from api.csv_lists import CsvListRoute
from api.deps import PageDep, QueryCurrency, QueryId, SecurityId, SessionDep
from api.errors import NotFound
from api.models import InstrumentOut, InstrumentsOut
from api.queries.reference import InstrumentFilter, find_instrument, list_instruments

router = APIRouter(prefix="/instruments", tags=["reference data"], route_class=CsvListRoute)


@router.get("")
async def read_instruments(session: SessionDep, page: PageDep, asset_class: QueryId = None,
                           currency: QueryCurrency = None, sector: QueryId = None,
                           country: QueryId = None) -> InstrumentsOut:
    found = await list_instruments(session, InstrumentFilter(asset_class, currency, sector, country), page)
    return InstrumentsOut(total=found.total, limit=page.limit, offset=page.offset,
                          items=[InstrumentOut(**row) for row in found.items])


@router.get("/{security_id}", responses={404: {"description": "unknown instrument"}})
async def read_instrument(security_id: SecurityId, session: SessionDep) -> InstrumentOut:
    row = await find_instrument(session, security_id)
    if row is None:
        raise NotFound(f"unknown instrument {security_id!r}")
    return InstrumentOut(**row)
