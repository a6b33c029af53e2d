"""Reference data as stored (instruments, prices, FX rates), from PostgreSQL.

Shared by every portfolio and naming none, so these reads need no portfolio scope.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.paging import date_clauses, paged_rows
from api.queries.rows import Page, Paged
from api.queries.tables import fx_rates, instruments, prices


@dataclass(frozen=True, slots=True)
class InstrumentFilter:
    asset_class: str | None = None
    currency: str | None = None
    sector: str | None = None
    country: str | None = None

    def clauses(self) -> list:
        return [instruments.c[name] == value for name, value in
                (("asset_class", self.asset_class), ("currency", self.currency), ("sector", self.sector),
                 ("country", self.country)) if value is not None]


async def list_instruments(session: AsyncSession, where: InstrumentFilter, page: Page) -> Paged[dict[str, Any]]:
    return await paged_rows(session, instruments, where.clauses(), (instruments.c.security_id.collate("C"),), page)


async def find_instrument(session: AsyncSession, security_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(instruments).where(instruments.c.security_id == security_id))).mappings()
    found = row.first()
    return dict(found) if found else None


async def list_prices(session: AsyncSession, security_id: str | None, date_from: date | None,
                      date_to: date | None, page: Page) -> Paged[dict[str, Any]]:
    clauses = date_clauses(prices.c.price_date, date_from, date_to)
    if security_id is not None:
        clauses.append(prices.c.security_id == security_id)
    return await paged_rows(session, prices, clauses, (prices.c.security_id.collate("C"), prices.c.price_date), page)


async def list_fx_rates(session: AsyncSession, from_currency: str | None, to_currency: str | None,
                        date_from: date | None, date_to: date | None, page: Page) -> Paged[dict[str, Any]]:
    """Quotes as published: the derived inverse of a pair is not listed."""
    clauses = date_clauses(fx_rates.c.rate_date, date_from, date_to)
    if from_currency is not None:
        clauses.append(fx_rates.c.from_currency == from_currency)
    if to_currency is not None:
        clauses.append(fx_rates.c.to_currency == to_currency)
    order = (fx_rates.c.from_currency, fx_rates.c.to_currency, fx_rates.c.rate_date)
    return await paged_rows(session, fx_rates, clauses, order, page)
