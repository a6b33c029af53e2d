"""The ledger's storage for one table partition, with a write-back cache.

Each of the four tables is reached through a `KeyValue`: a RocksDB partition
database in the worker (`RocksKeyValue`), a dict in tests (`DictKeyValue`).
Records are decoded once per batch and written back once per dirty key.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from core.stored import FROM_STORED, TABLES, compound_key, encode, loads


class KeyValue(Protocol):
    def get(self, key: bytes) -> bytes | None: ...
    def write(self, items: list[tuple[bytes, bytes]]) -> None: ...


class DictKeyValue:
    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def write(self, items: list[tuple[bytes, bytes]]) -> None:
        self.data.update(items)


class RocksKeyValue:
    """One RocksDB database (raw mode, as Faust opens it); writes are one WriteBatch."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def get(self, key: bytes) -> bytes | None:
        return self.db.get(key)

    def write(self, items: list[tuple[bytes, bytes]]) -> None:
        from rocksdict import WriteBatch

        batch = WriteBatch(raw_mode=True)
        for key, value in items:
            batch.put(key, value)
        self.db.write(batch)


class _CachedTable:
    def __init__(self, kv: KeyValue, decode: Callable[[dict], Any]) -> None:
        self.kv = kv
        self.decode = decode
        self.cache: dict[str, Any] = {}
        self.dirty: set[str] = set()

    def get(self, key: str) -> Any:
        if key in self.cache:
            return self.cache[key]
        raw = self.kv.get(key.encode())
        value = None if raw is None else self.decode(loads(raw))
        self.cache[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        self.cache[key] = value
        self.dirty.add(key)

    def encoded_changes(self) -> list[tuple[bytes, bytes]]:
        return [(key.encode(), encode(self.cache[key])) for key in sorted(self.dirty)]


class TableLedgerStore:
    """LedgerStore over one partition of the `books`, `ledger`, `positions` and `cash` tables."""

    def __init__(self, kvs: dict[str, KeyValue]) -> None:
        self._tables = {name: _CachedTable(kvs[name], FROM_STORED[name]) for name in TABLES}
        self._books, self._ledger, self._positions, self._cash = (self._tables[name] for name in TABLES)

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

    def changes(self) -> dict[str, list[tuple[bytes, bytes]]]:
        """Every dirty record, encoded, by table name."""
        return {name: items for name, table in self._tables.items() if (items := table.encoded_changes())}
