"""Positions and lots: live from the worker, or from PostgreSQL on request."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.csv_lists import CsvListRoute
from api.deps import (
    DatabaseDep,
    IsoDate,
    LiveDep,
    PageDep,
    PortfolioId,
    SecurityId,
    ensure_portfolio,
)
from api.errors import NotFound
from api.kept_answers import live_json_answer
from api.models import LotsOut, PositionsOut
from api.queries.live import live_lots
from api.queries.portfolios import portfolio_base_currency
from api.queries.positions import open_lots, position_listed
from api.responses import lots_out, positions_out
from api.valuation import value_as_of, value_live

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["positions"], route_class=CsvListRoute)
_ERRORS = {404: {"description": "unknown portfolio or security"},
           503: {"description": "worker or database unavailable"}}


@router.get("/positions", responses=_ERRORS)
async def read_positions(
    portfolio_id: PortfolioId, page: PageDep, live: LiveDep, database: DatabaseDep,
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD: from PostgreSQL; absent: live")] = None,
) -> PositionsOut:
    if as_of is None:
        state = await live.require_portfolio(portfolio_id)
        return live_json_answer(live, portfolio_id, state, ("positions", page),
                                lambda: positions_out(portfolio_id, None, "live", value_live(state), page))
    async with database.session() as session:
        base_currency = await portfolio_base_currency(session, portfolio_id)
        valued = await value_as_of(session, portfolio_id, base_currency, as_of)
    return positions_out(portfolio_id, as_of, "db", valued, page)


@router.get("/positions/{security_id}/lots", responses=_ERRORS)
async def read_lots(
    portfolio_id: PortfolioId, security_id: SecurityId, page: PageDep, live: LiveDep, database: DatabaseDep,
    source: Annotated[Literal["live", "db"], Query(description="live worker state or PostgreSQL")] = "live",
) -> LotsOut:
    if source == "live":
        lots = live_lots(await live.require_portfolio(portfolio_id), security_id)
    else:
        async with database.session() as session:
            await ensure_portfolio(session, portfolio_id)
            known = await position_listed(session, portfolio_id, security_id)
            lots = await open_lots(session, portfolio_id, security_id) if known else None
    if lots is None:
        raise NotFound(f"unknown security {security_id!r} in portfolio {portfolio_id!r}")
    return lots_out(portfolio_id, security_id, source, lots, page)
