"""Dependencies of the routes. Tests override them with
`app.dependency_overrides[get_publisher] = lambda: fake` and the like.

- `get_database` → DatabaseDep: PostgreSQL on DATABASE_URL (`.session()`,
  `.ping()`), for routes that read it only sometimes.
- `get_session` → SessionDep: an AsyncSession (503 when PostgreSQL is down).
- `get_live_client` → LiveDep: the worker's live-state client.
- `get_publisher` → PublisherDep: where ingested events go (Kafka).
- `page_params` → PageDep: `limit` (1..1000, default 100) and `offset`.
- `known_portfolio` → KnownPortfolio: the path's portfolio_id, 404 unless
  PostgreSQL knows it.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import PlainValidator, WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncSession

from api.analytics import PeriodRequest
from api.db import Database
from api.errors import NotFound
from api.live import LiveClient
from api.publisher import Publisher
from api.queries.portfolios import portfolio_exists
from api.queries.rows import Page
from api.resources import Resources
from api.settings import ApiSettings
from schemas.fields import to_event_date

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_OFFSET = 2**31 - 1
# Ids are at most 200 characters (as the event schemas allow); NUL can never be
# stored in PostgreSQL text, so it is refused here rather than by the database.
_ID = dict(min_length=1, max_length=200, pattern=r"^[^\x00]+$")

# Parameter types: ids in paths and queries, and strict YYYY-MM-DD dates within
# the events' date window (no figure exists outside it; year 1 or 9999 would only
# overflow date arithmetic or answer for a horizon of millennia).
PortfolioId = Annotated[str, Path(**_ID)]
SecurityId = Annotated[str, Path(**_ID)]
QueryId = Annotated[str | None, Query(**_ID)]
IsoDate = Annotated[date, PlainValidator(to_event_date), WithJsonSchema({"type": "string", "format": "date"})]


def get_resources(request: Request) -> Resources:
    return request.app.state.resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


def get_settings(resources: ResourcesDep) -> ApiSettings:
    return resources.settings


def get_database(resources: ResourcesDep) -> Database:
    return resources.database


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    async with database.session() as session:
        yield session


def get_live_client(resources: ResourcesDep) -> LiveClient:
    return resources.live


def get_publisher(resources: ResourcesDep) -> Publisher:
    return resources.publisher


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size, at most 1000")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")] = 0,
) -> Page:
    return Page(limit, offset)


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
LiveDep = Annotated[LiveClient, Depends(get_live_client)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]
PageDep = Annotated[Page, Depends(page_params)]


async def ensure_portfolio(session: AsyncSession, portfolio_id: str) -> None:
    if not await portfolio_exists(session, portfolio_id):
        raise NotFound(f"unknown portfolio {portfolio_id!r}")


async def known_portfolio(portfolio_id: PortfolioId, session: SessionDep) -> str:
    await ensure_portfolio(session, portfolio_id)
    return portfolio_id


KnownPortfolio = Annotated[str, Depends(known_portfolio)]


def period_params(
    from_: Annotated[IsoDate | None, Query(alias="from", description="YYYY-MM-DD, inclusive")] = None,
    to: Annotated[IsoDate | None, Query(description="YYYY-MM-DD, inclusive; default as_of")] = None,
    period: Annotated[str | None, Query(max_length=16, description="MTD, QTD, YTD, 1M, 3M, 6M, nY, SI or Y<year>")] = None,
    as_of: Annotated[IsoDate | None, Query(description="anchor of a named period; default the latest market date")] = None,
) -> PeriodRequest:
    return PeriodRequest(period, from_, to, as_of)


PeriodDep = Annotated[PeriodRequest, Depends(period_params)]
