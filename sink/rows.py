"""Changelog and reference records → the rows the sink writes. Pure functions."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import orjson

from core.numbers import text
from core.records import CashState, DayState, PortfolioState, PositionState, TxRecord, TxVersion
from core.stored import SEP, day_from_key
from schemas.events import DeadLetter


def _d(value: Decimal | str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def portfolio_row(state: PortfolioState) -> tuple:
    d = state.definition
    return (state.portfolio_id, d["name"], d["base_currency"], state.cost_method,
            _date(d["open_date"]), d.get("benchmark_id"), orjson.dumps(state.securities).decode(),
            orjson.dumps(state.currencies).decode(), state.applied, state.seq)


def transaction_row(record: TxRecord) -> tuple:
    f = record.fields
    return (f.portfolio_id, f.transaction_id, f.version, f.status, f.type, _date(f.trade_date),
            _date(f.settlement_date), f.security_id, f.quantity, f.price, f.amount, f.fees, f.currency,
            f.fx_rate, record.fx, record.arrival, record.realized_local, record.realized_base,
            orjson.dumps({c: text(a) for c, a in record.cash.items()}).decode(), record.seq)


def transaction_version_row(version: TxVersion) -> tuple:
    """One version of a transaction (transaction_versions), guarded by the ledger's seq: a
    ledger record's version in effect, or one it superseded."""
    f = version.fields
    return (f.portfolio_id, f.transaction_id, f.version, f.status, f.type, _date(f.trade_date), f.security_id,
            f.quantity, f.price, f.amount, f.fees, f.currency, version.arrival, version.seq)


def realized_lot_rows(record: TxRecord) -> list[tuple]:
    """A closing trade's `realized_lots` rows (none for any other record, or a cancelled one)."""
    f = record.fields
    close_date = _date(f.trade_date)
    return [(f.portfolio_id, f.transaction_id, item, f.security_id, c.lot_transaction_id, _date(c.open_date),
             close_date, c.quantity, c.proceeds_local, c.proceeds_base, c.cost_local, c.cost_base, c.gain_local,
             c.gain_base, record.seq)
            for item, c in enumerate(record.closed)]


def letter_transaction(row: tuple) -> tuple[str, str, int | None] | None:
    """(portfolio_id, transaction_id, version or None if unreadable) a `transactions` letter
    names, from its stored row (`dead_letter_row`: text already fit for PostgreSQL)."""
    topic, key, raw, transaction_id, raw_encoding, key_encoding = row[0], row[3], row[4], row[7], row[10], row[14]
    if topic != "transactions" or not transaction_id or not key or key_encoding != "utf-8":
        return None
    try:
        version = orjson.loads(raw).get("version", 1) if raw_encoding == "utf-8" else None
    except (orjson.JSONDecodeError, AttributeError):
        version = None
    return (key, transaction_id, version if type(version) is int else None)


def cash_row(state: CashState) -> tuple:
    return (state.portfolio_id, state.currency, state.balance, state.movers, state.seq)


@dataclass
class PositionChange:
    """The latest state of one position in a batch, and from which date its history changed."""

    state: PositionState
    first_seq: int
    history_from: str | None
    contiguous: bool = True

    def merge(self, newer: PositionState) -> None:
        self.contiguous = self.contiguous and newer.seq == self.state.seq + 1
        froms = [f for f in (self.history_from, newer.history_from) if f is not None]
        self.history_from = min(froms) if froms else None
        self.state = newer

    @property
    def key(self) -> tuple[str, str]:
        return (self.state.portfolio_id, self.state.security_id)

    def position_row(self) -> tuple:
        s = self.state
        return (s.portfolio_id, s.security_id, s.currency, s.quantity, s.cost_local, s.cost_base,
                s.realized_local, s.realized_base, s.listed, s.seq)

    def lot_rows(self) -> list[tuple]:
        s = self.state
        return [(s.portfolio_id, s.security_id, lot.transaction_id, _date(lot.open_date), lot.arrival,
                 lot.quantity, lot.cost_local, lot.cost_base) for lot in s.lots]



@dataclass
class Batch:
    portfolios: dict[str, tuple] = field(default_factory=dict)
    transactions: dict[tuple[str, str], tuple] = field(default_factory=dict)
    cash: dict[tuple[str, str], tuple] = field(default_factory=dict)
    positions: dict[tuple[str, str], PositionChange] = field(default_factory=dict)
    # position_history rows by (portfolio, security, date); None: the day's state was deleted.
    history: dict[tuple[str, str, date], tuple | None] = field(default_factory=dict)
    instruments: dict[str, tuple] = field(default_factory=dict)
    prices: dict[tuple, tuple] = field(default_factory=dict)
    fx_rates: dict[tuple, tuple] = field(default_factory=dict)
    dead_letters: dict[tuple, tuple] = field(default_factory=dict)
    transaction_versions: dict[tuple[str, str, int], tuple] = field(default_factory=dict)
    # Per transaction: its record's seq and its realized_lots rows (replacing what is stored).
    realized_lots: dict[tuple[str, str], tuple[int, list[tuple]]] = field(default_factory=dict)
    # Not rows of their own: what the batch tells about ingest receipts and
    # redriven dead letters (sink.dead_letter_lifecycle).
    letter_transactions: list[tuple[str, str, int | None]] = field(default_factory=list)
    reference_sources: list[tuple[str, int, int]] = field(default_factory=list)

    def add_position(self, state: PositionState) -> None:
        key = (state.portfolio_id, state.security_id)
        change = self.positions.get(key)
        if change is None:
            self.positions[key] = PositionChange(state, state.seq, state.history_from)
        elif state.seq > change.state.seq:
            change.merge(state)

    def add_day(self, state: DayState) -> None:
        day = _date(state.day)
        self.history[(state.portfolio_id, state.security_id, day)] = (
            state.portfolio_id, state.security_id, day, state.quantity, state.cost_local, state.cost_base,
            state.realized_local, state.realized_base)

    def delete_day(self, key: bytes | None) -> None:
        """A day's tombstone on the `days` changelog (its key: portfolio, security, date);
        raises ValueError for a key that is none of those (the sink dead-letters the record)."""
        if key is None:
            raise ValueError("a days tombstone without a key")
        portfolio_id, security_id, _ = key.decode().split(SEP, 2)
        self.history[(portfolio_id, security_id, _date(day_from_key(key.decode())))] = None

    def add_transaction(self, record: TxRecord) -> None:
        """The ledger record, its version and those it superseded (a batch of the
        worker may have applied several, and only the last reaches the changelog)."""
        key = (record.fields.portfolio_id, record.fields.transaction_id)
        self.transactions[key] = transaction_row(record)
        self.realized_lots[key] = (record.seq, realized_lot_rows(record))
        for version in (*record.superseded, record.version()):
            f = version.fields
            key = (f.portfolio_id, f.transaction_id, f.version)
            known = self.transaction_versions.get(key)
            if known is None or version.seq > known[-1]:
                self.transaction_versions[key] = transaction_version_row(version)

    def __len__(self) -> int:
        return sum(len(getattr(self, n)) for n in self.__dataclass_fields__ if n not in _NOT_ROWS)


_NOT_ROWS = {"letter_transactions", "reference_sources", "realized_lots"}


def dead_letter_row(value: dict[str, Any]) -> tuple:
    """A `dead_letters` row; raises (ValueError) for a value that is not a dead letter."""
    d = DeadLetter.model_validate(value)
    return (d.source_topic, -1 if d.partition is None else d.partition, -1 if d.offset is None else d.offset,
            d.key, d.raw_value, d.reason, d.field, d.transaction_id, d.detail, d.dead_lettered_at,
            d.raw_encoding, d.raw_size, d.raw_sha256, d.raw_truncated, d.key_encoding)
