"""Applying transactions and portfolio definitions to a portfolio's state.

Within a (portfolio, security) the effective order is (trade_date, arrival),
where arrival is the source offset of the version in effect. An event that
lands at the end of that order is booked incrementally; anything else (a
back-dated trade, an amendment, a cancellation, a new cost method) replays
that one key from its entries, so the result never depends on arrival order.
"""
from __future__ import annotations

from bisect import insort
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from core.booking import book
from core.cash import cash_effect
from core.lots import Lot, totals
from core.numbers import ONE, ZERO
from core.records import CashState, PortfolioState, PositionState, TxRecord
from core.stored import DayRow, day_row
from core.store import LedgerStore
from core.transaction import LISTING_TYPES, TxFields

FxLookup = Callable[[str, str, str], Decimal | None]


@dataclass(frozen=True, slots=True)
class Applied:
    transaction: TxRecord | None = None


@dataclass(frozen=True, slots=True)
class Duplicate:
    version_in_effect: int


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str
    field: str | None = None
    detail: str = ""


Outcome = Applied | Duplicate | Rejected


def transaction_fx(tx: TxFields, base_currency: str, lookup: FxLookup) -> Decimal | None:
    """Base units per unit of the transaction currency: explicit, 1, or looked up."""
    if tx.fx_rate is not None:
        return tx.fx_rate
    if tx.currency == base_currency:
        return ONE
    return lookup(tx.currency, base_currency, tx.trade_date)


def apply_transaction(store: LedgerStore, tx: TxFields, arrival: int, fx_lookup: FxLookup) -> Outcome:
    portfolio = store.get_portfolio(tx.portfolio_id)
    if portfolio is None:
        return Rejected("unknown_portfolio", None, f"portfolio {tx.portfolio_id!r} is not defined")
    previous = store.get_tx(tx.portfolio_id, tx.transaction_id)
    if previous is not None and tx.version <= previous.fields.version:
        return Duplicate(previous.fields.version)

    fx = None
    if tx.booked and tx.type != "SPLIT":
        fx = transaction_fx(tx, portfolio.base_currency, fx_lookup)
        if fx is None:
            return Rejected("missing_fx_rate", None,
                            f"no {tx.currency}/{portfolio.base_currency} rate on or before {tx.trade_date}")

    record = TxRecord(
        fields=tx, arrival=arrival, fx=fx, cash=cash_effect(tx),
        seq=(previous.seq + 1) if previous else 1, applied=arrival,
        superseded=[*previous.superseded, previous.version()] if previous else [],
    )
    was = previous if previous is not None and previous.effective else None
    _move_cash(store, portfolio, was.cash if was else {}, record.cash, arrival)
    _move_lots(store, portfolio, was, record, arrival)
    store.put_tx(record)
    return Applied(record)


def define_portfolio(store: LedgerStore, definition: dict[str, Any], arrival: int) -> Outcome:
    """Create or redefine a portfolio; a new cost method re-books its whole history."""
    pid = definition["portfolio_id"]
    current = store.get_portfolio(pid)
    if current is None:
        store.put_portfolio(PortfolioState(pid, definition, seq=1, applied=arrival))
        return Applied()
    if arrival <= current.applied or definition == current.definition:
        return Duplicate(current.seq)
    if definition["base_currency"] != current.base_currency and (current.securities or current.currencies):
        # Booked transactions keep the FX rates they were applied with, in the
        # old base currency; re-basing would silently mix currencies.
        return Rejected("invalid_event", "base_currency",
                        "base_currency cannot change once transactions are booked")
    method_changed = (definition.get("cost_method") or "FIFO") != current.cost_method
    updated = replace(current, definition=definition, seq=current.seq + 1, applied=arrival)
    store.put_portfolio(updated)
    if method_changed:
        for security_id in updated.securities:
            position = store.get_position(pid, security_id)
            if position is not None and position.entries:
                _rebuild(store, updated, position, {}, position.entries[0][0], arrival)
    return Applied()


def _move_cash(store: LedgerStore, portfolio: PortfolioState, old: dict[str, Decimal],
               new: dict[str, Decimal], arrival: int) -> None:
    for currency in old.keys() | new.keys():
        delta = new.get(currency, ZERO) - old.get(currency, ZERO)
        movers = (currency in new) - (currency in old)
        if delta == 0 and movers == 0:
            continue
        state = store.get_cash(portfolio.portfolio_id, currency) or CashState(portfolio.portfolio_id, currency)
        if currency not in portfolio.currencies:
            portfolio.currencies.append(currency)
            portfolio.seq += 1
            store.put_portfolio(portfolio)
        store.put_cash(replace(state, balance=state.balance + delta, movers=state.movers + movers,
                               seq=state.seq + 1, applied=arrival))


def _move_lots(store: LedgerStore, portfolio: PortfolioState, was: TxRecord | None,
               record: TxRecord, arrival: int) -> None:
    pid, new = portfolio.portfolio_id, record.fields
    old_key = was.fields.security_id if was is not None and was.fields.acts_on_lots else None
    new_key = new.security_id if new.acts_on_lots else None
    txid = new.transaction_id

    if old_key is not None:
        position = store.get_position(pid, old_key)
        entry = next(e for e in position.entries if e[2] == txid)
        position.entries.remove(entry)
        since = entry[0]
        if old_key == new_key:
            insort(position.entries, [new.trade_date, record.arrival, txid])
            since = min(since, new.trade_date)
        _rebuild(store, portfolio, position, {txid: record}, since, arrival)
    if new_key is not None and new_key != old_key:
        position = store.get_position(pid, new_key)
        if position is None:
            position = PositionState(pid, new_key)
            portfolio.securities.append(new_key)
            portfolio.seq += 1
            store.put_portfolio(portfolio)
        entry = [new.trade_date, record.arrival, txid]
        if not position.entries or entry > position.entries[-1]:
            position.entries.append(entry)
            _book_last(store, portfolio, position, record, arrival)
        else:
            insort(position.entries, entry)
            _rebuild(store, portfolio, position, {txid: record}, new.trade_date, arrival)


def _snapshot(history: list[DayRow], day: str, held: tuple[Decimal, Decimal, Decimal],
              realized_local: Decimal, realized_base: Decimal) -> None:
    snap = day_row(day, *held, realized_local, realized_base)
    if history and history[-1][0] == day:
        history[-1] = snap
    else:
        history.append(snap)


def _book_last(store: LedgerStore, portfolio: PortfolioState, position: PositionState,
               record: TxRecord, arrival: int) -> None:
    """Book a transaction that lands at the end of the effective order."""
    tx = record.fields
    booked = book(position.lots, tx, record.arrival, record.fx, portfolio.cost_method)
    record.realized_local, record.realized_base = booked.realized_local, booked.realized_base
    record.closed = booked.closed
    position.set_lots(booked.lots)
    position.realized_local += booked.realized_local
    position.realized_base += booked.realized_base
    position.listed = position.listed or tx.type in LISTING_TYPES
    if tx.currency:
        position.currency = tx.currency
    _snapshot(position.history, tx.trade_date, (position.quantity, position.cost_local, position.cost_base),
              position.realized_local, position.realized_base)
    position.history_from = tx.trade_date
    position.seq += 1
    position.applied = arrival
    store.put_position(position)


def _rebuild(store: LedgerStore, portfolio: PortfolioState, position: PositionState,
             pending: dict[str, TxRecord], since: str, arrival: int) -> None:
    """Replay one key's effective transactions from the start of its order."""
    lots: list[Lot] = []
    realized_local = realized_base = ZERO
    history: list[DayRow] = []
    listed = False
    pid = portfolio.portfolio_id
    for day, _, txid in position.entries:
        record = pending.get(txid) or store.get_tx(pid, txid)
        tx = record.fields
        booked = book(lots, tx, record.arrival, record.fx, portfolio.cost_method)
        lots = booked.lots
        realized_local += booked.realized_local
        realized_base += booked.realized_base
        listed = listed or tx.type in LISTING_TYPES
        if tx.currency:
            position.currency = tx.currency
        if ((booked.realized_local, booked.realized_base, booked.closed)
                != (record.realized_local, record.realized_base, record.closed)):
            record.realized_local, record.realized_base = booked.realized_local, booked.realized_base
            record.closed = booked.closed
            if txid not in pending:
                record.seq += 1
                record.applied = arrival
                store.put_tx(record)
        _snapshot(history, day, totals(lots), realized_local, realized_base)
    position.set_lots(lots)
    position.realized_local, position.realized_base = realized_local, realized_base
    position.listed = listed
    position.history = history
    position.history_from = since
    position.seq += 1
    position.applied = arrival
    store.put_position(position)
