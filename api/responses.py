"""Rows (live or PostgreSQL) + valuation → response models."""
from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from api.models import (
    CashBalanceOut,
    CashOut,
    LotOut,
    LotsOut,
    PositionOut,
    PositionsOut,
    Source,
    ValuationOut,
)
from api.numbers import ratio
from api.queries.rows import LotRow, Page
from core.valuation import PortfolioValuation, PositionValue

P = TypeVar("P", bound=PositionOut)


def position_out(value: PositionValue, model: type[P] = PositionOut, **extra: Any) -> P:
    """One valued position as an item of /positions (or a stream event: `model`, `extra`)."""
    return model(
        security_id=value.security_id, currency=value.currency,
        quantity=value.quantity, cost_local=value.cost_local, cost_base=value.cost_base,
        avg_cost_local=ratio(value.cost_local, value.quantity),
        realized_local=value.realized_local, realized_base=value.realized_base,
        price=value.price, price_date=value.price_date, fx=value.fx,
        mv_local=value.mv_local, mv_base=value.mv_base,
        unrealized_local=value.unrealized_local, unrealized_base=value.unrealized_base,
        weight=value.weight, valuation_status=value.valuation_status, **extra,
    )


def positions_out(portfolio_id: str, as_of: date | None, source: Source,
                  valuation: PortfolioValuation, page: Page) -> PositionsOut:
    # Valued as a whole (weights need the portfolio's total), then paged.
    positions = [position_out(value) for value in valuation.positions]
    return PositionsOut(portfolio_id=portfolio_id, as_of=as_of, source=source, total=len(positions),
                        limit=page.limit, offset=page.offset, positions=page.slice(positions))


def lots_out(portfolio_id: str, security_id: str, source: Source, lots: list[LotRow], page: Page) -> LotsOut:
    return LotsOut(
        portfolio_id=portfolio_id, security_id=security_id, source=source, total=len(lots),
        limit=page.limit, offset=page.offset,
        lots=[LotOut(transaction_id=lot.transaction_id, open_date=lot.open_date, quantity=lot.quantity,
                     cost_local=lot.cost_local, cost_base=lot.cost_base) for lot in page.slice(lots)],
    )


def cash_out(portfolio_id: str, as_of: date | None, source: Source, valuation: PortfolioValuation,
             page: Page) -> CashOut:
    balances = [CashBalanceOut(currency=c.currency, amount=c.balance, amount_base=c.mv_base, fx=c.fx,
                               valuation_status=c.valuation_status) for c in valuation.cash]
    return CashOut(portfolio_id=portfolio_id, as_of=as_of, source=source, total=len(balances),
                   limit=page.limit, offset=page.offset, balances=page.slice(balances))


def valuation_out(portfolio_id: str, as_of: date | None, source: Source, valued: PortfolioValuation) -> ValuationOut:
    return ValuationOut(
        portfolio_id=portfolio_id, as_of=as_of, source=source,
        base_currency=valued.base_currency, complete=valued.complete,
        mv_base=valued.securities_mv_base, cash_base=valued.cash_mv_base,
        known_mv_base=valued.known_securities_mv_base, known_cash_base=valued.known_cash_mv_base,
        cost_base=valued.cost_base, unrealized_base=valued.unrealized_base, realized_base=valued.realized_base,
        income_base=valued.income_base, total_base=valued.total_base,
    )
