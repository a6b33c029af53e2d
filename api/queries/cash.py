"""Cash balances on a date, from the booked transactions' cash effects."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Numeric, cast, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.rows import CashRow
from api.queries.tables import transactions as t


async def cash_as_of(session: AsyncSession, portfolio_id: str, as_of: date) -> list[CashRow]:
    """Per currency, the sum of `cash_effect` over the effective (BOOKED)
    transactions traded on or before `as_of`; every currency moved is listed,
    even when it nets to 0. Summed in PostgreSQL `numeric`: exact."""
    effect = func.jsonb_each_text(t.c.cash_effect).table_valued("key", "value").alias("effect")
    query = (
        select(effect.c.key.label("currency"), func.sum(cast(effect.c.value, Numeric)).label("amount"))
        .select_from(t)
        .join(effect, true())
        .where(t.c.portfolio_id == portfolio_id, t.c.status == "BOOKED", t.c.trade_date <= as_of)
        .group_by(effect.c.key)
        .order_by(effect.c.key)
    )
    return [CashRow(row.currency, row.amount) for row in await session.execute(query)]
