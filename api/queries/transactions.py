"""Transactions as booked (the version in effect), from PostgreSQL `transactions`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.rows import Page, Paged
from api.queries.tables import transactions as t

Sort = Literal["trade_date", "-trade_date", "transaction_id", "-transaction_id"]
StatusFilter = Literal["BOOKED", "CANCELLED", "ALL"]

_BY_ID = t.c.transaction_id.collate("C")  # byte order: the same on every server
_ORDER = {
    "trade_date": (t.c.trade_date.asc().nulls_last(), t.c.arrival.asc(), _BY_ID.asc()),
    "-trade_date": (t.c.trade_date.desc().nulls_last(), t.c.arrival.desc(), _BY_ID.desc()),
    "transaction_id": (_BY_ID.asc(),),
    "-transaction_id": (_BY_ID.desc(),),
}


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    date_from: date | None = None
    date_to: date | None = None
    type: str | None = None
    security_id: str | None = None
    status: StatusFilter = "BOOKED"

    def clauses(self, portfolio_id: str) -> list:
        clauses = [t.c.portfolio_id == portfolio_id]
        if self.status != "ALL":
            clauses.append(t.c.status == self.status)
        if self.date_from is not None:
            clauses.append(t.c.trade_date >= self.date_from)
        if self.date_to is not None:
            clauses.append(t.c.trade_date <= self.date_to)
        if self.type is not None:
            clauses.append(t.c.type == self.type)
        if self.security_id is not None:
            clauses.append(t.c.security_id == self.security_id)
        return clauses


async def list_transactions(session: AsyncSession, portfolio_id: str, where: TransactionFilter,
                            sort: Sort | None, page: Page) -> Paged[dict[str, Any]]:
    clauses = where.clauses(portfolio_id)
    total = await session.scalar(select(func.count()).select_from(t).where(*clauses))
    query = (
        select(t.c.transaction_id, t.c.portfolio_id, t.c.version, t.c.status, t.c.type, t.c.trade_date,
               t.c.settlement_date, t.c.security_id, t.c.quantity, t.c.price, t.c.amount, t.c.fees,
               t.c.currency, t.c.fx_rate, t.c.fx_applied.label("fx_rate_applied"), t.c.arrival,
               t.c.realized_local, t.c.realized_base, t.c.cash_effect)
        .where(*clauses)
        .order_by(*_ORDER[sort or "trade_date"])
        .limit(page.limit).offset(page.offset)
    )
    return Paged(total or 0, [dict(r) for r in (await session.execute(query)).mappings()])
