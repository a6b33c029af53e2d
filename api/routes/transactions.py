"""GET /portfolios/{id}/transactions (PostgreSQL), with realized P&L and cash effect, and
GET /portfolios/{id}/transactions/{transaction_id}: what became of one id."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.csv_lists import CsvListRoute
from api.deps import IsoDate, KnownPortfolio, PageDep, PortfolioId, QueryId, SessionDep, check_date_range
from api.errors import NotFound
from api.models import (
    TransactionLetterOut,
    TransactionOut,
    TransactionsOut,
    TransactionStatus,
    TransactionStatusOut,
    TransactionVersionOut,
)
from api.queries.dead_letters import transaction_letters
from api.queries.transactions import Sort, StatusFilter, TransactionFilter, list_transactions, transaction_trail
from schemas.events import TxType

router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["transactions"], route_class=CsvListRoute)


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
    check_date_range(date_from, date_to)
    where = TransactionFilter(date_from, date_to, type, security_id, status)
    found = await list_transactions(session, portfolio_id, where, sort, page)
    return TransactionsOut(portfolio_id=portfolio_id, total=found.total, limit=page.limit, offset=page.offset,
                           items=[TransactionOut(**row) for row in found.items])


TransactionId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]


@router.get("/transactions/{transaction_id}", responses={404: {"description": "an id never seen"}})
async def read_transaction_status(portfolio_id: PortfolioId, transaction_id: TransactionId,
                                  session: SessionDep) -> TransactionStatusOut:
    """The id's status. The portfolio need not exist: an event for an unknown
    portfolio is dead-lettered, and that is its answer."""
    trail = await transaction_trail(session, portfolio_id, transaction_id)
    letters = await transaction_letters(session, portfolio_id, transaction_id)
    status: TransactionStatus
    if trail.pending_versions:
        status = "pending"
    elif trail.in_effect is not None:
        status = "booked" if trail.in_effect["status"] == "BOOKED" else "cancelled"
    elif letters:
        status = "dead_lettered"
    else:
        raise NotFound(f"transaction {transaction_id!r} of portfolio {portfolio_id!r} was never seen")
    return TransactionStatusOut(
        portfolio_id=portfolio_id, transaction_id=transaction_id, status=status,
        version=trail.in_effect["version"] if trail.in_effect else None,
        versions=[TransactionVersionOut(**v) for v in trail.versions],
        dead_letters=[TransactionLetterOut(**d) for d in letters], pending_versions=trail.pending_versions)
