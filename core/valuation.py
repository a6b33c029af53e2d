"""Valuing positions, cash and a whole portfolio on a date (SPEC §2 Valuation).

    mv_local = quantity × price            mv_base = mv_local × fx(instrument → base)
    unrealized_local = mv_local − cost_local   unrealized_base = mv_base − cost_base
    cash mv_base = balance × fx(currency → base)

Prices and rates are the latest on or before the valuation date (`on`; None
values at the latest there is). A missing price or rate never counts as zero:
the figure is None and `valuation_status` says why:

- `missing_price`: no price on or before the date. It wins over a missing
  rate, and then price, price_date and fx are all None (nothing was used).
- `missing_fx`: the price is known but fx(instrument → base) is not. The
  local figures (price, mv_local, unrealized_local) are still given.
- `missing_fx` too when the price was quoted in another currency and no rate
  converts it to the instrument's currency on the valuation date: the price
  exists, a rate is what is missing. The local figures cannot be given then
  (price and mv_local need that rate); price_date says which price it was
  and fx (instrument → base) is given when known.
- A closed position (quantity 0) needs no market data: valued at 0, status
  ok, price/price_date/fx None. Likewise a zero cash balance is worth 0 in any
  currency, with fx given only when a rate is known.

Portfolio totals: `securities_mv_base` is None when any position's mv_base is
missing, `cash_mv_base` when any balance's is, `total_mv_base` when either is;
`known_*` sum what is known and `complete` says whether nothing was missing.
Weights (mv_base / total value, securities + cash in base) use the known total
when something is missing, matching the allocation weights of the scenarios'
PX-EDGE portfolio; a position without mv_base has no weight.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from core.income import INCOME_TYPES
from core.market import Quotes
from core.numbers import ZERO, div, mul
from core.records import PositionState, TxRecord

OK = "ok"
MISSING_PRICE = "missing_price"
MISSING_FX = "missing_fx"


@dataclass(frozen=True, slots=True)
class PositionValue:
    security_id: str
    currency: str | None  # the currency the position is valued in (the instrument's)
    quantity: Decimal
    cost_local: Decimal
    cost_base: Decimal
    realized_local: Decimal
    realized_base: Decimal
    price: Decimal | None
    price_date: str | None
    fx: Decimal | None  # instrument currency → base
    mv_local: Decimal | None
    mv_base: Decimal | None
    unrealized_local: Decimal | None
    unrealized_base: Decimal | None
    weight: float | None
    valuation_status: str

    @property
    def open(self) -> bool:
        return self.quantity != 0


@dataclass(frozen=True, slots=True)
class CashValue:
    currency: str
    balance: Decimal
    fx: Decimal | None  # currency → base
    mv_base: Decimal | None
    valuation_status: str


@dataclass(frozen=True, slots=True)
class PositionInput:
    """A position's ledger figures, the input of valuation."""

    security_id: str
    currency: str | None
    quantity: Decimal
    cost_local: Decimal
    cost_base: Decimal
    realized_local: Decimal = ZERO
    realized_base: Decimal = ZERO

    @classmethod
    def from_state(cls, state: PositionState, currency: str | None = None) -> PositionInput:
        """From the ledger's state; `currency` overrides the traded currency
        (pass the instrument's currency when it is known)."""
        return cls(state.security_id, currency or state.currency, state.quantity, state.cost_local,
                   state.cost_base, state.realized_local, state.realized_base)


def value_position(security_id: str, currency: str | None, quantity: Decimal, cost_local: Decimal,
                   cost_base: Decimal, realized_local: Decimal, realized_base: Decimal,
                   base_currency: str, quotes: Quotes, on: str | None) -> PositionValue:
    def valued(price=None, price_date=None, fx=None, mv_local=None, mv_base=None, status=OK):
        return PositionValue(
            security_id, currency, quantity, cost_local, cost_base, realized_local, realized_base,
            price, price_date, fx, mv_local, mv_base,
            None if mv_local is None else mv_local - cost_local,
            None if mv_base is None else mv_base - cost_base,
            None, status)

    if quantity == 0:
        return valued(mv_local=ZERO, mv_base=ZERO)
    quote = quotes.price(security_id, currency, on)
    if quote is None:
        return valued(status=MISSING_PRICE)
    fx = _fx(quotes, currency, base_currency, on)
    if quote.price is None:  # quoted in another currency, no rate to convert it
        return valued(price_date=quote.day, fx=fx, status=MISSING_FX)
    mv_local = mul(quantity, quote.price)
    if fx is None:
        return valued(quote.price, quote.day, mv_local=mv_local, status=MISSING_FX)
    return valued(quote.price, quote.day, fx, mv_local, mul(mv_local, fx))


def value_cash(currency: str, balance: Decimal, base_currency: str, quotes: Quotes, on: str | None) -> CashValue:
    fx = quotes.fx(currency, base_currency, on)
    if fx is not None:
        return CashValue(currency, balance, fx, mul(balance, fx), OK)
    if balance == 0:
        return CashValue(currency, balance, None, ZERO, OK)
    return CashValue(currency, balance, None, None, MISSING_FX)


def _fx(quotes: Quotes, currency: str | None, base_currency: str, on: str | None) -> Decimal | None:
    # A security of unknown currency can only be valued if it is the base's.
    return quotes.fx(currency or base_currency, base_currency, on)


@dataclass(frozen=True, slots=True)
class PortfolioValuation:
    on: str | None
    base_currency: str
    positions: list[PositionValue]
    cash: list[CashValue]
    securities_mv_base: Decimal | None
    cash_mv_base: Decimal | None
    known_securities_mv_base: Decimal
    known_cash_mv_base: Decimal
    cost_base: Decimal
    unrealized_base: Decimal | None
    realized_base: Decimal
    income_base: Decimal
    complete: bool = field(default=True)

    @property
    def total_mv_base(self) -> Decimal | None:
        if self.securities_mv_base is None or self.cash_mv_base is None:
            return None
        return self.securities_mv_base + self.cash_mv_base

    @property
    def known_total_mv_base(self) -> Decimal:
        return self.known_securities_mv_base + self.known_cash_mv_base

    @property
    def total_base(self) -> Decimal | None:
        """The API's `total_base`: total value, securities + cash (= total_mv_base)."""
        return self.total_mv_base


def value_portfolio(positions: Iterable[PositionInput], cash: Mapping[str, Decimal] | Iterable[tuple[str, Decimal]],
                    base_currency: str, quotes: Quotes, on: str | None,
                    realized_base_total: Decimal | None = None, income_base: Decimal = ZERO) -> PortfolioValuation:
    """Every position and balance valued, weighted, and totalled.

    `realized_base_total` defaults to the positions' realized_base (trades
    only); `income_base` is reported apart (see `income_of`).
    """
    values = [value_position(p.security_id, p.currency, p.quantity, p.cost_local, p.cost_base,
                             p.realized_local, p.realized_base, base_currency, quotes, on)
              for p in positions]
    items = cash.items() if isinstance(cash, Mapping) else cash
    cash_values = [value_cash(c, balance, base_currency, quotes, on) for c, balance in items]

    known_sec = sum((v.mv_base for v in values if v.mv_base is not None), ZERO)
    known_cash = sum((c.mv_base for c in cash_values if c.mv_base is not None), ZERO)
    sec_complete = all(v.mv_base is not None for v in values)
    cash_complete = all(c.mv_base is not None for c in cash_values)
    total = known_sec + known_cash
    weighted = [weigh(v, total) for v in values]
    unrealized = (sum((v.unrealized_base for v in values), ZERO)
                  if all(v.unrealized_base is not None for v in values) else None)
    return PortfolioValuation(
        on=on, base_currency=base_currency, positions=weighted, cash=cash_values,
        securities_mv_base=known_sec if sec_complete else None,
        cash_mv_base=known_cash if cash_complete else None,
        known_securities_mv_base=known_sec, known_cash_mv_base=known_cash,
        cost_base=sum((v.cost_base for v in values if v.open), ZERO),
        unrealized_base=unrealized,
        realized_base=(realized_base_total if realized_base_total is not None
                       else sum((v.realized_base for v in values), ZERO)),
        income_base=income_base,
        complete=sec_complete and cash_complete,
    )


def weigh(value: PositionValue, total: Decimal) -> PositionValue:
    """The position with its weight in a portfolio of total value `total` (in base)."""
    if value.mv_base is None or total == 0:
        return value
    return replace(value, weight=float(div(value.mv_base, total)))


def income_of(transactions: Iterable[TxRecord]) -> Decimal:
    """Net income in base of the effective DIVIDEND and INTEREST transactions.

    Each counts its cash effect, `amount − fees`, at the FX rate it was
    booked with: income is a cash fact of its trade date, like realized P&L,
    and is never re-priced by later rates. FEE and TAX are costs, not
    negative income, and are left out.
    """
    total = ZERO
    for record in transactions:
        tx = record.fields
        if record.effective and tx.type in INCOME_TYPES:
            total += mul(tx.amount - tx.fees, record.fx)
    return total
