"""The daily series of a portfolio: value, inflows and outflows per valuation date.

SPEC §2 "Daily series": valuation dates are the weekdays from the first
transaction to the as-of date, plus any weekend date with a transaction. For
each date t:

- `MV_t`: securities + cash in base at the end of t, each valued with the
  latest price and rate on or before t (as in core.valuation). A zero quantity
  or balance needs no market data. If any price or rate that is needed is
  missing, MV_t is None: no partial totals ("Missing market data in
  analytics").
- `In_t` / `Out_t` (both ≥ 0): DEPOSIT / WITHDRAWAL at the transaction's own
  booked FX rate (amount × fx); TRANSFER_IN / TRANSFER_OUT at market value,
  quantity × price(t) × fx(t) from the market data on t, not the transfer's
  `price` ("Flows at market value"). A transfer that cannot be valued makes
  that day's In_t (or Out_t) None. Income, fees and taxes are not flows.

Computation walks the dates once. Position quantities, cash moves and flows
are each merged into one date-ordered list and consumed with a pointer, and
each held security reads its prices through a forward-only cursor
(core.market.price_cursor) that keeps its quote, and q × price, until a newer
price date is reached. The cost is O(rows + dates × held securities), never a
rescan of the history per date. To recompute only dates [a..b], pass those dates and every
row up to b: rows before a set the opening state; flows before a are ignored.
A flow dated between two valuation dates (which valuation_dates never
produces) counts on the next valuation date, valued on its own date.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from core.market import Quotes, price_cursor
from core.numbers import ZERO, mul
from core.records import DayState, PositionState, TxRecord

IN = "in"
OUT = "out"
CASH_FLOW_TYPES = {"DEPOSIT": IN, "WITHDRAWAL": OUT}
TRANSFER_TYPES = {"TRANSFER_IN": IN, "TRANSFER_OUT": OUT}


def valuation_dates(first_day: str, last_day: str, transaction_days: Iterable[str]) -> list[str]:
    """Weekdays from first_day to last_day inclusive, plus weekend dates with a transaction."""
    if first_day > last_day:
        return []
    weekend = {d for d in transaction_days if first_day <= d <= last_day}
    day, end, out = date.fromisoformat(first_day), date.fromisoformat(last_day), []
    one = timedelta(days=1)
    while day <= end:
        iso = day.isoformat()
        if day.weekday() < 5 or iso in weekend:
            out.append(iso)
        day += one
    return out


@dataclass(frozen=True, slots=True)
class Holding:
    """A security's end-of-day quantity on each date it changed, ascending.

    `currency` is the one it is valued in: its instrument's currency.
    """

    security_id: str
    currency: str | None
    history: list[tuple[str, Decimal]]

    @classmethod
    def from_days(cls, state: PositionState, days: list[DayState], currency: str | None = None) -> Holding:
        """From the ledger's end-of-day states of the position, ascending."""
        return cls(state.security_id, currency or state.currency, [(d.day, d.quantity) for d in days])


@dataclass(frozen=True, slots=True)
class CashMove:
    day: str
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Flow:
    """An external flow: in base already (deposit, withdrawal) or a quantity
    of a security to value at market on `day` (transfer, in `currency`)."""

    day: str
    direction: str  # "in" | "out"
    amount_base: Decimal | None = None
    security_id: str | None = None
    currency: str | None = None
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    day: str
    mv: Decimal | None
    inflow: Decimal | None
    outflow: Decimal | None


def flow_of(type: str | None, day: str, amount: Decimal | None, fx: Decimal | None,
            security_id: str | None, currency: str | None, quantity: Decimal | None) -> Flow | None:
    """The external flow of a booked transaction, or None if it is not one.

    `fx` is the rate the transaction was booked with; for transfers pass as
    `currency` the instrument's currency (the one its prices are in).
    """
    if type in CASH_FLOW_TYPES:
        return Flow(day, CASH_FLOW_TYPES[type], amount_base=mul(amount, fx))
    if type in TRANSFER_TYPES:
        return Flow(day, TRANSFER_TYPES[type], security_id=security_id, currency=currency, quantity=quantity)
    return None


def flow_of_record(record: TxRecord, currency: str | None = None) -> Flow | None:
    """`flow_of` for an effective transaction record (None if not effective)."""
    tx = record.fields
    if not record.effective:
        return None
    return flow_of(tx.type, tx.trade_date, tx.amount, record.fx, tx.security_id,
                   currency or tx.currency, tx.quantity)


def cash_moves_of(day: str, cash: dict[str, Decimal]) -> list[CashMove]:
    """A transaction's cash effect ({currency: amount}) as moves on its date."""
    return [CashMove(day, ccy, amount) for ccy, amount in cash.items() if amount != 0]


class _DayRates:
    """fx(currency → base) on one date, looked up once per currency."""

    __slots__ = ("base", "day", "quotes", "rates")

    def __init__(self, quotes: Quotes, base: str) -> None:
        self.quotes, self.base, self.day, self.rates = quotes, base, None, {}

    def on(self, day: str) -> None:
        if day != self.day:
            self.day, self.rates = day, {}

    def __call__(self, currency: str | None) -> Decimal | None:
        currency = currency or self.base
        try:
            return self.rates[currency]
        except KeyError:
            rate = self.rates[currency] = self.quotes.fx(currency, self.base, self.day)
            return rate


def _market_value(quotes: Quotes, rates: _DayRates, security_id: str, currency: str | None,
                  quantity: Decimal, day: str) -> Decimal | None:
    quote = quotes.price(security_id, currency, day)
    if quote is None or quote.price is None:
        return None
    fx = rates(currency)
    return None if fx is None else mul(mul(quantity, quote.price), fx)


class _Held:
    """A held security: its quantity, its price cursor, and mv_local kept
    until the quantity or the price changes (most days only the rate does)."""

    __slots__ = ("currency", "cursor", "mv_local", "quantity", "quote")

    def __init__(self, quotes: Quotes, security_id: str, currency: str | None) -> None:
        self.currency = currency
        self.cursor = price_cursor(quotes, security_id, currency)
        self.quantity = ZERO
        self.quote = self.mv_local = None

    def mv_local_on(self, day: str) -> Decimal | None:
        quote = self.cursor(day)
        if quote is not self.quote:
            self.quote = quote
            self.mv_local = None if quote is None or quote.price is None else mul(self.quantity, quote.price)
        return self.mv_local

    def set_quantity(self, quantity: Decimal) -> None:
        if quantity != self.quantity:
            self.quantity, self.quote, self.mv_local = quantity, None, None


def compute_series(base_currency: str, days: list[str], holdings: Iterable[Holding],
                   cash_moves: Iterable[CashMove], flows: Iterable[Flow], quotes: Quotes) -> list[SeriesPoint]:
    if not days:
        return []
    first, last = days[0], days[-1]

    # Quantity changes of every security, in date order (stable: a security's
    # rows keep their order), up to the last date.
    currency_of: dict[str, str | None] = {}
    changes: list[tuple[str, str, Decimal]] = []
    for holding in holdings:
        currency_of[holding.security_id] = holding.currency
        changes.extend((d, holding.security_id, q) for d, q in holding.history if d <= last)
    changes.sort(key=lambda c: c[0])
    moves = sorted((m for m in cash_moves if m.day <= last), key=lambda m: m.day)
    pending = sorted((f for f in flows if first <= f.day <= last), key=lambda f: f.day)

    securities: dict[str, _Held] = {}
    held: dict[str, _Held] = {}   # securities with a non-zero quantity
    balances: dict[str, Decimal] = {}
    rates = _DayRates(quotes, base_currency)
    flow_rates = _DayRates(quotes, base_currency)
    ci = mi = fi = 0
    out: list[SeriesPoint] = []
    for day in days:
        while ci < len(changes) and changes[ci][0] <= day:
            _, sid, quantity = changes[ci]
            if quantity:
                security = securities.get(sid)
                if security is None:
                    security = securities[sid] = _Held(quotes, sid, currency_of[sid])
                security.set_quantity(quantity)
                held[sid] = security
            else:
                held.pop(sid, None)
            ci += 1
        while mi < len(moves) and moves[mi].day <= day:
            move = moves[mi]
            balances[move.currency] = balances.get(move.currency, ZERO) + move.amount
            mi += 1
        rates.on(day)

        mv: Decimal | None = ZERO
        for security in held.values():
            mv_local = security.mv_local_on(day)
            fx = None if mv_local is None else rates(security.currency)
            if fx is None:
                mv = None
                break
            mv += mul(mv_local, fx)
        if mv is not None:
            for currency, balance in balances.items():
                if not balance:
                    continue
                fx = rates(currency)
                if fx is None:
                    mv = None
                    break
                mv += mul(balance, fx)

        sums: dict[str, Decimal | None] = {IN: ZERO, OUT: ZERO}
        while fi < len(pending) and pending[fi].day <= day:
            flow = pending[fi]
            fi += 1
            if sums[flow.direction] is None:
                continue
            if flow.amount_base is not None:
                value = flow.amount_base
            else:
                at = rates if flow.day == day else flow_rates
                at.on(flow.day)
                value = _market_value(quotes, at, flow.security_id, flow.currency, flow.quantity, flow.day)
            sums[flow.direction] = None if value is None else sums[flow.direction] + value
        out.append(SeriesPoint(day, mv, sums[IN], sums[OUT]))
    return out
