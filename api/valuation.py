"""A portfolio's rows + market quotes → core.valuation (live or as of a date).

Live: the owning worker answers with the portfolio's state and the latest
quotes it needs (core.quote_snapshot). As of a date: rows and the latest
prices and rates on or before it come from PostgreSQL. Either way the same
pure valuation runs, so live and historical figures follow one rule.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.cash import cash_as_of
from api.queries.live import live_cash, live_positions
from api.queries.market import market_on
from api.queries.positions import positions_as_of
from api.queries.rows import CashRow, PositionRow
from core.market import Quotes, instrument_currency
from core.quote_snapshot import SnapshotQuotes
from core.valuation import PortfolioValuation, PositionInput, value_portfolio

ZERO = Decimal(0)


def value_rows(rows: Sequence[PositionRow], cash: Sequence[CashRow], base_currency: str, quotes: Quotes,
               on: date | None, income_base: Decimal = ZERO) -> PortfolioValuation:
    inputs = [PositionInput(r.security_id, instrument_currency(quotes, r.security_id, r.currency), r.quantity,
                            r.cost_local, r.cost_base, r.realized_local, r.realized_base) for r in rows]
    return value_portfolio(inputs, [(c.currency, c.amount) for c in cash], base_currency, quotes,
                           None if on is None else on.isoformat(), income_base=income_base)


def value_live(state: dict[str, Any], income_base: Decimal = ZERO) -> PortfolioValuation:
    quotes = SnapshotQuotes(state["market"])
    return value_rows(live_positions(state), live_cash(state), quotes.base, quotes, None, income_base)


async def value_as_of(session: AsyncSession, portfolio_id: str, base_currency: str, on: date,
                      income_base: Decimal = ZERO) -> PortfolioValuation:
    rows = await positions_as_of(session, portfolio_id, on)
    cash = await cash_as_of(session, portfolio_id, on)
    market = await market_on(session, [r.security_id for r in rows], on)
    return value_rows(rows, cash, base_currency, market, on, income_base)
