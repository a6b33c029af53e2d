"""The ledger's storage over RocksDB-backed Faust tables, with a write-back cache.

Records are decoded once per batch and written back once per dirty key, so a
batch that touches a key many times costs one RocksDB put and one changelog
record for it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.records import CashState, PortfolioState, PositionState, TxRecord
from streams.codec import compound_key, dumps, loads


class _CachedTable:
    def __init__(self, table: Any, decode: Callable[[dict], Any]) -> None:
        self.table = table
        self.decode = decode
        self.cache: dict[str, Any] = {}
        self.dirty: set[str] = set()

    def get(self, key: str) -> Any:
        if key in self.cache:
            return self.cache[key]
        raw = self.table.get(key)
        value = None if raw is None else self.decode(loads(raw))
        self.cache[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        self.cache[key] = value
        self.dirty.add(key)

    def flush(self) -> int:
        for key in self.dirty:
            self.table[key] = dumps(self.cache[key].to_dict())
        written = len(self.dirty)
        self.dirty.clear()
        return written

    def reset(self) -> None:
        self.cache.clear()
        self.dirty.clear()


class TableLedgerStore:
    """LedgerStore over the `books`, `ledger`, `positions` and `cash` tables."""

    def __init__(self, books: Any, ledger: Any, positions: Any, cash: Any) -> None:
        self._books = _CachedTable(books, PortfolioState.from_dict)
        self._ledger = _CachedTable(ledger, TxRecord.from_dict)
        self._positions = _CachedTable(positions, PositionState.from_dict)
        self._cash = _CachedTable(cash, CashState.from_dict)
        self._all = (self._books, self._ledger, self._positions, self._cash)

    def get_portfolio(self, portfolio_id):
        return self._books.get(portfolio_id)

    def put_portfolio(self, state):
        self._books.put(state.portfolio_id, state)

    def get_tx(self, portfolio_id, transaction_id):
        return self._ledger.get(compound_key(portfolio_id, transaction_id))

    def put_tx(self, record):
        self._ledger.put(compound_key(record.fields.portfolio_id, record.fields.transaction_id), record)

    def get_position(self, portfolio_id, security_id):
        return self._positions.get(compound_key(portfolio_id, security_id))

    def put_position(self, state):
        self._positions.put(compound_key(state.portfolio_id, state.security_id), state)

    def get_cash(self, portfolio_id, currency):
        return self._cash.get(compound_key(portfolio_id, currency))

    def put_cash(self, state):
        self._cash.put(compound_key(state.portfolio_id, state.currency), state)

    def flush(self) -> int:
        """Write every dirty record back (inside the source event's context)."""
        return sum(t.flush() for t in self._all)

    def reset(self) -> None:
        for t in self._all:
            t.reset()
