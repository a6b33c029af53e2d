"""Applying transactions and portfolio definitions to a portfolio's state.

Within a (portfolio, security) the effective order is (trade_date, arrival),
where arrival is the source offset of the version in effect. An event that
lands at the end of that order is booked incrementally on the position's
head, and writes its entry and its day's end state: its cost does not depend
on the position's past. Anything else (a back-dated trade, an amendment, a
cancellation) replays that one key from the end state of the day before its
date, over the entries from that date on; a new cost method replays every key
from its start. So the result never depends on arrival order.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from core.booking import book
from core.cash import cash_effect
from core.day_lots import keeps_lots
from core.lots import Lot
from core.numbers import ONE, ZERO
from core.records import CashState, DayState, PortfolioState, PositionState, TxRecord
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
            if position is not None and position.last_entry is not None:
                _rebuild(store, updated, position, {}, None, arrival)
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
        old_entry = [was.fields.trade_date, was.arrival, txid]
        store.delete_entry(pid, old_key, old_entry)
        since = old_entry[0]
        if old_key == new_key:
            store.put_entry(pid, old_key, [new.trade_date, record.arrival, txid], arrival)
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
        store.put_entry(pid, new_key, entry, arrival)
        if position.last_entry is None or entry > position.last_entry:
            _book_last(store, portfolio, position, record, entry, arrival)
        else:
            _rebuild(store, portfolio, position, {txid: record}, new.trade_date, arrival)


def _book_last(store: LedgerStore, portfolio: PortfolioState, position: PositionState,
               record: TxRecord, entry: list, arrival: int) -> None:
    """Book a transaction that lands at the end of the effective order."""
    tx = record.fields
    previous_day = position.last_entry[0] if position.last_entry is not None else None
    if previous_day == tx.trade_date:  # another trade of the same day: the changed day before is earlier
        earlier = store.day_before(position.portfolio_id, position.security_id, tx.trade_date)
        previous_day = None if earlier is None else earlier.day
    booked = book(position.lots, tx, record.arrival, record.fx, portfolio.cost_method)
    record.realized_local, record.realized_base = booked.realized_local, booked.realized_base
    record.closed = booked.closed
    position.set_lots(booked.lots)
    position.realized_local += booked.realized_local
    position.realized_base += booked.realized_base
    position.listed = position.listed or tx.type in LISTING_TYPES
    if tx.currency:
        position.currency = tx.currency
    position.last_entry = entry
    position.history_from = tx.trade_date
    position.seq += 1
    position.applied = arrival
    store.put_day(DayState.of(position, tx.trade_date, keeps_lots(tx.trade_date, previous_day, position.lots)))
    store.put_position(position)


def _rebuild(store: LedgerStore, portfolio: PortfolioState, position: PositionState,
             pending: dict[str, TxRecord], since: str | None, arrival: int) -> None:
    """Replay one key's effective transactions from `since` (its start if None), rewriting the days from
    `since` on: from the end state of the latest earlier day that keeps its lots (core.day_lots), over
    the entries after it."""
    pid, sid = position.portfolio_id, position.security_id
    changed_from = since
    start = None if since is None else store.day_before(pid, sid, since)
    while start is not None and start.lots is None:  # no lots to start from (core.day_lots): an earlier day
        start = store.day_before(pid, sid, start.day)
    if start is None:  # from the beginning: every day is written again (days of the old layout get lots)
        since = None
    lots: list[Lot] = [] if start is None else start.lots
    realized_local, realized_base = (ZERO, ZERO) if start is None else (start.realized_local, start.realized_base)
    listed = False if start is None else start.listed
    if start is not None and start.currency:
        position.currency = start.currency
    # From the day after `start`: the days before `since` are booked again but stay as stored.
    entries = store.entries_from(pid, sid, None if start is None else _next_day(start.day))
    stale = set(store.days_from(pid, sid, since))
    previous_day = None if start is None else start.day
    position.seq += 1
    position.applied = arrival
    for n, (day, _, txid) in enumerate(entries):
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
        if n + 1 == len(entries) or entries[n + 1][0] != day:  # the day's last entry: its end state
            if since is None or day >= since:
                position.set_lots(lots)
                position.realized_local, position.realized_base, position.listed = (realized_local, realized_base,
                                                                                   listed)
                store.put_day(DayState.of(position, day, keeps_lots(day, previous_day, lots)))
                stale.discard(day)
            previous_day = day
    for day in stale:
        store.delete_day(pid, sid, day)
    position.set_lots(lots)
    position.realized_local, position.realized_base = realized_local, realized_base
    position.listed = listed
    position.last_entry = entries[-1] if entries else store.last_entry(pid, sid)
    position.history_from = changed_from if changed_from is not None else (entries[0][0] if entries else None)
    store.put_position(position)


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
