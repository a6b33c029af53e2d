"""The income report's input: the booked transactions in effect that income
counts (core.income decides which and how), from PostgreSQL `transactions`."""
from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.tables import transactions as t
from core.income import INCOME_TYPES, WITHHOLDING_TYPE, IncomeEntry
from core.numbers import ZERO


async def income_entries(session: AsyncSession, portfolio_id: str, date_from: date | None,
                         date_to: date | None) -> list[IncomeEntry]:
    clauses = [t.c.portfolio_id == portfolio_id, t.c.status == "BOOKED",
               or_(t.c.type.in_(sorted(INCOME_TYPES)),
                   (t.c.type == WITHHOLDING_TYPE) & t.c.security_id.is_not(None))]
    if date_from is not None:
        clauses.append(t.c.trade_date >= date_from)
    if date_to is not None:
        clauses.append(t.c.trade_date <= date_to)
    query = select(t.c.type, t.c.trade_date, t.c.security_id, t.c.currency, t.c.amount, t.c.fees,
                   t.c.fx_applied).where(*clauses)
    return [IncomeEntry(r.type, r.trade_date, r.security_id, r.currency, r.amount, r.fees or ZERO, r.fx_applied)
            for r in await session.execute(query)]
