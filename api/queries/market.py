"""Market data on a date from PostgreSQL, as a core.market.MarketData.

Only the latest price of each security and the latest quote of each FX pair
(each direction) on or before the date are loaded: latest-on-or-before over
those gives the same answers as over the whole history.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.tables import fx_rates, instruments, prices
from core.fx import FxBook
from core.market import InstrumentInfo, MarketData, PriceBook


async def instruments_of(session: AsyncSession, security_ids: Iterable[str]) -> dict[str, InstrumentInfo]:
    query = select(instruments).where(instruments.c.security_id.in_(list(security_ids)))
    return {r.security_id: InstrumentInfo(r.security_id, r.name, r.currency, r.asset_class, r.sector, r.country)
            for r in await session.execute(query)}


async def market_on(session: AsyncSession, security_ids: Iterable[str], on: date) -> MarketData:
    ids = list(security_ids)
    book = PriceBook()
    latest_prices = (
        select(prices.c.security_id, prices.c.price_date, prices.c.price, prices.c.currency)
        .where(prices.c.security_id.in_(ids), prices.c.price_date <= on)
        .ext(distinct_on(prices.c.security_id))
        .order_by(prices.c.security_id, prices.c.price_date.desc())
    )
    for r in await session.execute(latest_prices):
        book.put(r.security_id, r.price_date.isoformat(), r.price, r.currency)
    fx = FxBook()
    latest_rates = (
        select(fx_rates.c.from_currency, fx_rates.c.to_currency, fx_rates.c.rate_date, fx_rates.c.rate)
        .where(fx_rates.c.rate_date <= on)
        .ext(distinct_on(fx_rates.c.from_currency, fx_rates.c.to_currency))
        .order_by(fx_rates.c.from_currency, fx_rates.c.to_currency, fx_rates.c.rate_date.desc())
    )
    for r in await session.execute(latest_rates):
        fx.put(r.from_currency, r.to_currency, r.rate_date.isoformat(), r.rate)
    return MarketData(book, fx, await instruments_of(session, ids))


_PRICE_ARRAYS = text("""
SELECT array_agg(price_date - DATE '1970-01-01' ORDER BY price_date) AS days,
       array_agg(price::float8 ORDER BY price_date) AS prices
FROM prices WHERE security_id = :security_id AND price_date <= :to
""")


async def price_history(session: AsyncSession, security_id: str, to: date) -> tuple[list[int], list[float]]:
    """A benchmark's prices up to `to` in its own currency, as day numbers (since
    1970-01-01) and floats (returns are ratios); empty lists when it has none."""
    row = (await session.execute(_PRICE_ARRAYS, {"security_id": security_id, "to": to})).mappings().one()
    return row["days"] or [], row["prices"] or []
