"""Factories for domain transactions, with the defaults a test rarely cares about."""
from __future__ import annotations

import copy
import itertools
from decimal import Decimal

from core.ledger import apply_transaction, define_portfolio
from core.store import MemoryStore
from core.stored import to_stored
from core.transaction import TxFields

_ids = itertools.count(1)


def D(value) -> Decimal:
    return Decimal(str(value))


def make_tx(type_: str, *, security="SEC", quantity=None, price=None, amount=None, fees="0",
            currency="USD", trade_date="2024-01-02", fx_rate=None, transaction_id=None,
            portfolio="P1", version=1, status="BOOKED") -> TxFields:
    return TxFields(
        transaction_id=transaction_id or f"T{next(_ids):06d}", portfolio_id=portfolio,
        version=version, status=status, type=type_, trade_date=trade_date, settlement_date=None,
        security_id=security, quantity=None if quantity is None else D(quantity),
        price=None if price is None else D(price), amount=None if amount is None else D(amount),
        fees=D(fees), currency=currency, fx_rate=None if fx_rate is None else D(fx_rate),
    )


def cancel(tx: TxFields, version: int) -> TxFields:
    return TxFields(tx.transaction_id, tx.portfolio_id, version, "CANCELLED", None, None, None,
                    None, None, None, None, D(0), None, None)


class Book:
    """A one-portfolio ledger over a MemoryStore, fed in arrival order."""

    def __init__(self, base="USD", method="FIFO", fx=None):
        self.store = MemoryStore()
        self.arrival = itertools.count()
        self.fx = fx or {}
        define_portfolio(self.store, {"portfolio_id": "P1", "name": "P", "base_currency": base,
                                      "cost_method": method, "open_date": "2024-01-01"}, 0)

    def lookup(self, from_ccy, to_ccy, on):
        return self.fx.get((from_ccy, to_ccy))

    def apply(self, tx: TxFields):
        return apply_transaction(self.store, tx, next(self.arrival), self.lookup)

    def position(self, security="SEC"):
        return self.store.get_position("P1", security)

    def tx(self, tx: TxFields):
        return self.store.get_tx("P1", tx.transaction_id)

    def cash(self, currency="USD"):
        state = self.store.get_cash("P1", currency)
        return None if state is None else state.balance


# --- helpers added for the lot, booking, cash, fx and ledger unit tests ---

def redefine(book: Book, **changes):
    """Publish a new definition of the book's portfolio (the current one with `changes`)."""
    current = book.store.get_portfolio("P1")
    definition = {**current.definition, **changes}
    arrival = next(book.arrival)
    while arrival <= current.applied:  # Book numbers its first transaction 0, like the definition
        arrival = next(book.arrival)
    return define_portfolio(book.store, definition, arrival)


def lot_rows(position) -> list[tuple]:
    """A position's open lots as (transaction_id, open_date, quantity, cost_local, cost_base)."""
    return [(lot.transaction_id, lot.open_date, lot.quantity, lot.cost_local, lot.cost_base)
            for lot in position.lots]


def memory_state(store: MemoryStore) -> dict:
    """Every record of a MemoryStore, for "nothing changed" checks: a deep copy of the
    records themselves (every field, lots and history included) and their stored form
    (what the changelogs and the sink would see, decimals' exact text included)."""
    tables = {"portfolios": store.portfolios, "txs": store.txs, "positions": store.positions, "cash": store.cash}
    return {
        "records": copy.deepcopy(tables),
        "stored": {name: {k: to_stored(v) for k, v in table.items()} for name, table in tables.items()},
    }
