"""GET /portfolios/{id}/transactions (PostgreSQL), with realized P&L and cash effect."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import IsoDate, KnownPortfolio, PageDep, QueryId, SessionDep
from api.errors import InvalidParameter
from api.models import TransactionOut, TransactionsOut
from api.queries.transactions import Sort, StatusFilter, TransactionFilter, list_transactions
from schemas.events import TxType

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["transactions"])


@router.get("/transactions", responses={404: {"description": "unknown portfolio"}})
async def read_transactions(
    portfolio_id: KnownPortfolio, session: SessionDep, page: PageDep,
    date_from: Annotated[IsoDate | None, Query(alias="from", description="trade_date on or after")] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to", description="trade_date on or before")] = None,
    type: Annotated[TxType | None, Query(description="transaction type")] = None,  # noqa: A002
    security_id: QueryId = None,
    status: Annotated[StatusFilter, Query(description="BOOKED (in effect), CANCELLED or ALL")] = "BOOKED",
    sort: Annotated[Sort | None, Query(description="default: trade_date, then arrival")] = None,
) -> TransactionsOut:
    if date_from and date_to and date_from > date_to:
        raise InvalidParameter("query", "from", "from must be on or before to")
    where = TransactionFilter(date_from, date_to, type, security_id, status)
    found = await list_transactions(session, portfolio_id, where, sort, page)
    return TransactionsOut(portfolio_id=portfolio_id, total=found.total, limit=page.limit, offset=page.offset,
                           items=[TransactionOut(**row) for row in found.items])
