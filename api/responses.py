"""Rows (live or PostgreSQL) + valuation → response models."""
from __future__ import annotations

from datetime import date

from api.models import CashBalanceOut, CashOut, LotOut, LotsOut, PositionOut, PositionsOut, Source
from api.queries.rows import CashRow, LotRow, Page, PositionRow
from api.valuation import value_cash, value_positions


def positions_out(portfolio_id: str, as_of: date | None, source: Source,
                  rows: list[PositionRow], page: Page) -> PositionsOut:
    # Valued as a whole (weights need the portfolio's total), then paged.
    values = value_positions(rows, as_of)
    positions = [
        PositionOut(
            security_id=row.security_id, currency=row.currency,
            quantity=row.quantity, cost_local=row.cost_local, cost_base=row.cost_base,
            avg_cost_local=row.avg_cost_local,
            realized_local=row.realized_local, realized_base=row.realized_base,
            mv_local=value.mv_local, mv_base=value.mv_base,
            unrealized_local=value.unrealized_local, unrealized_base=value.unrealized_base,
            weight=value.weight, valuation_status=value.valuation_status,
        )
        for row, value in zip(rows, values)
    ]
    return PositionsOut(portfolio_id=portfolio_id, as_of=as_of, source=source, total=len(positions),
                        limit=page.limit, offset=page.offset, positions=page.slice(positions))


def lots_out(portfolio_id: str, security_id: str, source: Source, lots: list[LotRow], page: Page) -> LotsOut:
    return LotsOut(
        portfolio_id=portfolio_id, security_id=security_id, source=source, total=len(lots),
        limit=page.limit, offset=page.offset,
        lots=[LotOut(transaction_id=lot.transaction_id, open_date=lot.open_date, quantity=lot.quantity,
                     cost_local=lot.cost_local, cost_base=lot.cost_base) for lot in page.slice(lots)],
    )


def cash_out(portfolio_id: str, as_of: date | None, source: Source, rows: list[CashRow], page: Page) -> CashOut:
    in_base = value_cash(rows, as_of)
    balances = [CashBalanceOut(currency=row.currency, amount=row.amount, amount_base=base)
                for row, base in zip(rows, in_base)]
    return CashOut(portfolio_id=portfolio_id, as_of=as_of, source=source, total=len(balances),
                   limit=page.limit, offset=page.offset, balances=page.slice(balances))
