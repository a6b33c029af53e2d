"""A portfolio's rows + market quotes → core.valuation (live or as of a date).

Live: the owning worker answers with the portfolio's state and the latest
quotes it needs (core.quote_snapshot). As of a date: rows and the latest
prices and rates on or before it come from PostgreSQL. Either way the same
pure valuation runs, so live and historical figures follow one rule.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.cash import cash_as_of
from api.queries.live import live_cash, live_positions
from api.queries.market import market_on
from api.queries.positions import positions_as_of
from api.queries.rows import CashRow, PositionRow
from api.queries.series import income_bases
from api.queries.stream import Book, current_books
from core.market import Quotes, instrument_currency
from core.numbers import ZERO
from core.quote_snapshot import SnapshotQuotes
from core.valuation import (CashValue, PortfolioValuation, PositionInput, PositionValue, value_cash,
                            value_portfolio, value_position, weigh)


def value_rows(rows: Sequence[PositionRow], cash: Sequence[CashRow], base_currency: str, quotes: Quotes,
               on: date | None, income_base: Decimal = ZERO) -> PortfolioValuation:
    inputs = [PositionInput(r.security_id, instrument_currency(quotes, r.security_id, r.currency), r.quantity,
                            r.cost_local, r.cost_base, r.realized_local, r.realized_base) for r in rows]
    return value_portfolio(inputs, [(c.currency, c.amount) for c in cash], base_currency, quotes,
                           None if on is None else on.isoformat(), income_base=income_base)


def value_live(state: dict[str, Any], income_base: Decimal = ZERO) -> PortfolioValuation:
    """The live state valued; the same kept state (api.live: unchanged since the worker's last
    answer) with the same income is valued once."""
    key = (id(state), str(income_base))  # text: 0 and 0E-8 are equal but are answered differently
    memo = _LIVE_VALUATIONS.get(key)
    if memo is not None and memo[0] is state:
        _LIVE_VALUATIONS.move_to_end(key)
        return memo[1]
    quotes = SnapshotQuotes(state["market"])
    valued = value_rows(live_positions(state), live_cash(state), quotes.base, quotes, None, income_base)
    # The state is held with its valuation, so its id cannot be reused while the entry lives.
    _LIVE_VALUATIONS[key] = (state, valued)
    while len(_LIVE_VALUATIONS) > _LIVE_VALUATIONS_KEPT:
        _LIVE_VALUATIONS.popitem(last=False)
    return valued


_LIVE_VALUATIONS: OrderedDict[tuple[int, str], tuple[dict[str, Any], PortfolioValuation]] = OrderedDict()
_LIVE_VALUATIONS_KEPT = 1024


async def value_as_of(session: AsyncSession, portfolio_id: str, base_currency: str, on: date,
                      income_base: Decimal = ZERO) -> PortfolioValuation:
    rows = await positions_as_of(session, portfolio_id, on)
    cash = await cash_as_of(session, portfolio_id, on)
    market = await market_on(session, [r.security_id for r in rows], on)
    return value_rows(rows, cash, base_currency, market, on, income_base)


@dataclass(frozen=True, slots=True)
class ValuedBook:
    """A portfolio valued now from PostgreSQL: its ledger rows, the quotes, the valuation."""

    book: Book
    valuation: PortfolioValuation
    quotes: Quotes

    def position(self, row: PositionRow) -> PositionValue:
        """One position's figures (e.g. an event's) valued like the book, weighed in its total."""
        value = value_position(row.security_id, instrument_currency(self.quotes, row.security_id, row.currency),
                               row.quantity, row.cost_local, row.cost_base, row.realized_local, row.realized_base,
                               self.valuation.base_currency, self.quotes, None)
        return weigh(value, self.valuation.known_total_mv_base)

    def cash(self, row: CashRow) -> CashValue:
        return value_cash(row.currency, row.amount, self.valuation.base_currency, self.quotes, None)


async def value_current(session: AsyncSession, portfolio_ids: list[str],
                        unchanged: Mapping[str, ValuedBook] | None = None) -> dict[str, ValuedBook]:
    """Known portfolios valued as the sink last wrote them, at the latest prices and rates in PostgreSQL:
    what the position stream sends (the sink's rows and the market data it stored commit together
    with the stream's events, so a valuation never lags the event that triggers it).

    `unchanged`: earlier valuations of portfolios whose ledger rows have not moved since; only the
    market is read again for them."""
    unchanged = {pid: unchanged[pid] for pid in portfolio_ids if unchanged and pid in unchanged}
    fresh = [pid for pid in portfolio_ids if pid not in unchanged]
    books = {pid: v.book for pid, v in unchanged.items()}
    incomes = {pid: v.valuation.income_base for pid, v in unchanged.items()}
    if fresh:
        books.update(await current_books(session, fresh))
        incomes.update(await income_bases(session, fresh))
    market = await market_on(session, {r.security_id for b in books.values() for r in b.positions}, date.max)
    return {pid: ValuedBook(b, value_rows(b.positions, b.cash, b.base_currency, market, None, incomes[pid]), market)
            for pid, b in books.items()}
