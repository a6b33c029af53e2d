"""The realized-gains report's rows: what each closing trade realized per lot (PostgreSQL `realized_lots`)."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.paging import date_clauses, paged_rows
from api.queries.rows import Page, Paged
from api.queries.tables import realized_lots as r


async def list_realized_lots(session: AsyncSession, portfolio_id: str, security_id: str | None,
                             date_from: date | None, date_to: date | None, page: Page) -> Paged[dict[str, Any]]:
    """By close date, then closing trade, then relief order."""
    clauses = [r.c.portfolio_id == portfolio_id, *date_clauses(r.c.close_date, date_from, date_to)]
    if security_id is not None:
        clauses.append(r.c.security_id == security_id)
    order = (r.c.close_date, r.c.transaction_id.collate("C"), r.c.item)
    return await paged_rows(session, r, clauses, order, page)
