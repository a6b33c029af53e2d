"""The stored daily series and what analytics need around it, from PostgreSQL."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import Database
from api.queries.tables import daily_series, transactions


@dataclass(frozen=True, slots=True)
class SeriesRow:
    date: date
    mv: Decimal | None
    inflow: Decimal | None
    outflow: Decimal | None


async def series_rows(session: AsyncSession, portfolio_id: str, to: date | None = None) -> list[SeriesRow]:
    """Every valuation date up to `to` (returns need each date's predecessor)."""
    s = daily_series
    query = select(s.c.date, s.c.mv, s.c.inflow, s.c.outflow).where(s.c.portfolio_id == portfolio_id)
    if to is not None:
        query = query.where(s.c.date <= to)
    rows = await session.execute(query.order_by(s.c.date))
    return [SeriesRow(r.date, r.mv, r.inflow, r.outflow) for r in rows]


def _first_booked(portfolio_id):  # noqa: ANN001, ANN202 - a value or a column expression
    t = transactions
    return select(func.min(t.c.trade_date)).where(t.c.portfolio_id == portfolio_id, t.c.status == "BOOKED")


async def first_transaction_date(session: AsyncSession, portfolio_id: str) -> date | None:
    return await session.scalar(_first_booked(portfolio_id))


async def horizon(session: AsyncSession, portfolio_id: str) -> date | None:
    """The portfolio's last valuation date, the default as-of of its analytics: the
    market horizon (latest price or FX date) or its own latest trade date if later."""
    return await session.scalar(select(func.portfolio_horizon(portfolio_id)))


# Net income booked (DIVIDEND, INTEREST: amount − fees, at each one's booked rate).
_t = transactions
_NET_INCOME = func.coalesce(func.sum((_t.c.amount - func.coalesce(_t.c.fees, 0))
                                     * func.coalesce(_t.c.fx_applied, 1)), 0)
_INCOME = (_t.c.status == "BOOKED", _t.c.type.in_(("DIVIDEND", "INTEREST")))


async def income_base(session: AsyncSession, portfolio_id: str, as_of: date | None) -> Decimal:
    """Net income booked up to `as_of` (None: all)."""
    query = select(_NET_INCOME).where(_t.c.portfolio_id == portfolio_id, *_INCOME)
    if as_of is not None:
        query = query.where(_t.c.trade_date <= as_of)
    return Decimal(await session.scalar(query))


def _plain(query) -> str:  # noqa: ANN001 - a SQLAlchemy statement whose only parameter is written $1
    return str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


# The same rule as one plain statement ($1: the portfolio), for the live valuation's read per request.
_INCOME_NOW = _plain(select(_NET_INCOME).where(_t.c.portfolio_id == literal_column("$1"), *_INCOME))



async def income_base_now(database: Database, portfolio_id: str) -> Decimal:
    """Net income booked so far, as `income_base(…, None)`, without a session (Database.fetchval)."""
    return Decimal(await database.fetchval(_INCOME_NOW, portfolio_id))


async def income_bases(session: AsyncSession, portfolio_ids: list[str]) -> dict[str, Decimal]:
    """Net income booked so far of each portfolio (0 when none)."""
    query = (select(_t.c.portfolio_id, _NET_INCOME).where(_t.c.portfolio_id.in_(portfolio_ids), *_INCOME)
             .group_by(_t.c.portfolio_id))
    found = {pid: Decimal(total) for pid, total in await session.execute(query)}
    return {pid: found.get(pid, Decimal(0)) for pid in portfolio_ids}


# One row of arrays: analytics need floats anyway (returns are ratios), and
# 2,600 dates as one row cost a tenth of 2,600 rows of Decimals.
_ARRAYS = """array_agg(date - DATE '1970-01-01' ORDER BY date) AS days,
       array_agg(mv::float8 ORDER BY date) AS mv,
       array_agg(inflow::float8 ORDER BY date) AS inflow,
       array_agg(outflow::float8 ORDER BY date) AS outflow"""
_SERIES_ARRAYS = text(f"SELECT {_ARRAYS} FROM daily_series WHERE portfolio_id = :portfolio_id AND date <= :to")


async def series_arrays(session: AsyncSession, portfolio_id: str, to: date) -> dict[str, list | None]:
    """Day numbers (since 1970-01-01) and mv/inflow/outflow as floats (None: unknown), up to `to`."""
    row = (await session.execute(_SERIES_ARRAYS, {"portfolio_id": portfolio_id, "to": to})).mappings().one()
    return dict(row)


# What a period's analytics read, in one round trip on the plain pool ($1: the portfolio):
# whether it is known, its first booked trade, its horizon, and its whole series (cut at the
# period's end by the caller: returns up to a date need only the rows up to it).
_PERIOD_INPUTS = f"""
SELECT EXISTS (SELECT 1 FROM portfolios WHERE portfolio_id = $1) AS known,
       ({_plain(_first_booked(literal_column("$1")))}) AS first_date,
       portfolio_horizon($1) AS horizon,
       s.days, s.mv, s.inflow, s.outflow
FROM (SELECT {_ARRAYS} FROM daily_series WHERE portfolio_id = $1) AS s
"""


@dataclass(frozen=True, slots=True)
class PeriodInputs:
    known: bool
    first_date: date | None
    horizon: date | None
    arrays: dict[str, list | None]  # as series_arrays, every date


async def period_inputs(database: Database, portfolio_id: str) -> PeriodInputs:
    row = await database.fetchrow(_PERIOD_INPUTS, portfolio_id)
    return PeriodInputs(row["known"], row["first_date"], row["horizon"],
                        {k: row[k] for k in ("days", "mv", "inflow", "outflow")})
