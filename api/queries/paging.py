"""One page of a table's rows, and date-range clauses: shared by the list queries."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.rows import Page, Paged


async def paged_rows(session: AsyncSession, table, clauses: list, order: tuple, page: Page) -> Paged[dict[str, Any]]:
    """The page of `table`'s rows matching `clauses` in `order`, and how many match in all."""
    total = await session.scalar(select(func.count()).select_from(table).where(*clauses))
    query = select(table).where(*clauses).order_by(*order).limit(page.limit).offset(page.offset)
    return Paged(total or 0, [dict(r) for r in (await session.execute(query)).mappings()])


def date_clauses(column, date_from: date | None, date_to: date | None) -> list:
    return ([column >= date_from] if date_from else []) + ([column <= date_to] if date_to else [])
