"""Dependencies of the routes. Tests override them with
`app.dependency_overrides[get_publisher] = lambda: fake` and the like.

- `get_database` → DatabaseDep: PostgreSQL on DATABASE_URL (`.session()`,
  `.ping()`), for routes that read it only sometimes.
- `get_session` → SessionDep: an AsyncSession (503 when PostgreSQL is down).
- `get_db_answers` → DbAnswersDep: answers read from PostgreSQL, kept until
  a change notice (api.db_answers).
- `get_live_client` → LiveDep: the worker's live-state client.
- `get_publisher` → PublisherDep: where ingested events go (Kafka).
- `page_params` → PageDep: `limit` (1..1000, default 100) and `offset`.
- `portfolio_in_scope` → PortfolioId: the path's portfolio_id, 404 outside
  the caller's scope (api.auth).
- `known_portfolio` → KnownPortfolio: the same, and 404 unless PostgreSQL
  knows it.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timezone
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import PlainValidator, WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncSession

from api.analytics import PeriodRequest
from api.db import Database
from api.db_answers import DbAnswers
from api.auth.deps import CurrentPrincipal
from api.errors import InvalidParameter, UnsupportedMediaType, unknown_portfolio
from api.live import LiveClient
from api.publisher import Publisher
from api.queries.portfolios import portfolio_exists
from api.queries.rows import Page
from api.resources import Resources
from api.settings import ApiSettings
from schemas.fields import to_date, to_event_date

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_OFFSET = 2**31 - 1
# Ids are at most 200 characters (as the event schemas allow); NUL can never be
# stored in PostgreSQL text, so it is refused here rather than by the database.
_ID = dict(min_length=1, max_length=200, pattern=r"^[^\x00]+$")

# Parameter types: ids in paths and queries, and strict YYYY-MM-DD dates within
# the events' date window (no figure exists outside it; year 1 or 9999 would only
# overflow date arithmetic or answer for a horizon of millennia).
PortfolioPath = Annotated[str, Path(**_ID)]
SecurityId = Annotated[str, Path(**_ID)]
QueryId = Annotated[str | None, Query(**_ID)]
IsoDate = Annotated[date, PlainValidator(to_event_date), WithJsonSchema({"type": "string", "format": "date"})]


def to_date_or_time(value: object) -> date | datetime:
    """YYYY-MM-DD (a whole day), or an ISO 8601 date-time (UTC unless it has an offset)."""
    if isinstance(value, str) and "T" not in value.upper() and " " not in value:
        return to_date(value)
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        if moment is not None:
            # In UTC now: an instant that does not exist there (year 0 or 10000) is refused here.
            return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        pass
    raise ValueError("must be a date (YYYY-MM-DD) or a date-time (YYYY-MM-DDTHH:MM:SS[+HH:MM])")


DateOrTime = Annotated[date | datetime, PlainValidator(to_date_or_time),
                       WithJsonSchema({"anyOf": [{"type": "string", "format": "date"},
                                                 {"type": "string", "format": "date-time"}]})]


async def portfolio_in_scope(portfolio_id: PortfolioPath, principal: CurrentPrincipal) -> str:
    """The path's portfolio id; outside the caller's scope it does not exist (404)."""
    if not principal.sees(portfolio_id):
        raise unknown_portfolio(portfolio_id)
    return portfolio_id


PortfolioId = Annotated[str, Depends(portfolio_in_scope)]


async def json_body_only(request: Request) -> None:
    """Writes take `application/json` only (415 otherwise, before the body is read;
    a write without any body, e.g. a redrive, may say nothing).

    A browser sends `text/plain` (or a form) cross-site without a CORS
    preflight; JSON needs one, which Folio does not approve unless
    FOLIO_CORS_ORIGINS says so. So no page a user visits can post for them.
    """
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    bodiless = request.headers.get("content-length", "0") == "0" and "transfer-encoding" not in request.headers
    if media_type != "application/json" and not (bodiless and not media_type):
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {media_type or 'missing'!r}")


async def get_resources(request: Request) -> Resources:
    return request.app.state.resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_settings(resources: ResourcesDep) -> ApiSettings:
    return resources.settings


async def get_database(resources: ResourcesDep) -> Database:
    return resources.database


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    async with database.session() as session:
        yield session


async def get_db_answers(resources: ResourcesDep) -> DbAnswers:
    return resources.db_answers


DbAnswersDep = Annotated[DbAnswers, Depends(get_db_answers)]


async def get_live_client(resources: ResourcesDep) -> LiveClient:
    return resources.live


async def get_publisher(resources: ResourcesDep) -> Publisher:
    return resources.publisher


async def page_params(
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
        raise unknown_portfolio(portfolio_id)


async def known_portfolio(portfolio_id: PortfolioId, session: SessionDep) -> str:
    await ensure_portfolio(session, portfolio_id)
    return portfolio_id


KnownPortfolio = Annotated[str, Depends(known_portfolio)]


async def period_params(
    from_: Annotated[IsoDate | None, Query(alias="from", description="YYYY-MM-DD, inclusive")] = None,
    to: Annotated[IsoDate | None, Query(description="YYYY-MM-DD, inclusive; default as_of")] = None,
    period: Annotated[str | None, Query(max_length=16, description="MTD, QTD, YTD, 1M, 3M, 6M, nY, SI or Y<year>")] = None,
    as_of: Annotated[IsoDate | None, Query(description="anchor of a named period; default the latest market date")] = None,
) -> PeriodRequest:
    return PeriodRequest(period, from_, to, as_of)


PeriodDep = Annotated[PeriodRequest, Depends(period_params)]


def check_date_range(date_from: date | None, date_to: date | None) -> None:
    """422 naming `from` when a from/to range is reversed (both ends inclusive)."""
    if date_from and date_to and date_from > date_to:
        raise InvalidParameter("query", "from", "from must be on or before to")


DateFrom = Annotated[IsoDate | None, Query(alias="from", description="YYYY-MM-DD, inclusive")]
DateTo = Annotated[IsoDate | None, Query(alias="to", description="YYYY-MM-DD, inclusive")]
Year = Annotated[int | None, Query(ge=1, le=9999, description="calendar year; with from/to: within it")]


def year_range(year: int | None, date_from: date | None, date_to: date | None) -> tuple[date | None, date | None]:
    """The from/to range a report covers: `from`..`to` within `year` when it is given;
    422 naming `from` when reversed, `year` when from/to lie outside the year."""
    check_date_range(date_from, date_to)
    if year is None:
        return date_from, date_to
    date_from = max(date_from or date.min, date(year, 1, 1))
    date_to = min(date_to or date.max, date(year, 12, 31))
    if date_from > date_to:
        raise InvalidParameter("query", "year", "from/to lie outside the year")
    return date_from, date_to
QueryCurrency = Annotated[str | None, Query(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
