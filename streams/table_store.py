"""The ledger's storage for one table partition, with a write-back cache.

Each table is reached through a `KeyValue`: a RocksDB partition database in
the worker (`RocksKeyValue`), a dict in tests (`DictKeyValue`). Records are
decoded once per batch and written back once per dirty key; a deleted key is
written as a tombstone (value None: a RocksDB delete and a compacting
changelog's delete marker). Entries and days are read by key range, the
batch's own unwritten changes included.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from core.records import DayState, PositionState
from core.stored import (FROM_STORED, TABLES, LotTexts, compound_key, day_from_key, day_from_stored, day_key,
                         encode, entry_from_key, entry_key, entry_to_stored, legacy_layout, loads,
                         position_from_stored, position_range)

Change = tuple[bytes, bytes | None]  # value None: delete


class KeyValue(Protocol):
    def get(self, key: bytes) -> bytes | None: ...
    def write(self, items: list[Change]) -> None: ...
    def keys(self, low: bytes, high: bytes, reverse: bool = False) -> Iterator[bytes]:
        """Keys in [low, high), ascending (descending if `reverse`)."""


class DictKeyValue:
    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def write(self, items: list[Change]) -> None:
        for key, value in items:
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value

    def keys(self, low: bytes, high: bytes, reverse: bool = False) -> Iterator[bytes]:
        found = sorted(k for k in self.data if low <= k < high)
        return iter(reversed(found) if reverse else found)


class RocksKeyValue:
    """One RocksDB database (raw mode, as Faust opens it); writes are one WriteBatch."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def get(self, key: bytes) -> bytes | None:
        return self.db.get(key)

    def write(self, items: list[Change]) -> None:
        from rocksdict import WriteBatch

        batch = WriteBatch(raw_mode=True)
        for key, value in items:
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        self.db.write(batch)

    def keys(self, low: bytes, high: bytes, reverse: bool = False) -> Iterator[bytes]:
        it = self.db.iter()
        if reverse:
            it.seek_for_prev(high)
            if it.valid() and it.key() >= high:
                it.prev()
            while it.valid() and it.key() >= low:
                yield it.key()
                it.prev()
        else:
            it.seek(low)
            while it.valid() and it.key() < high:
                yield it.key()
                it.next()


class _CachedTable:
    def __init__(self, kv: KeyValue, decode: Callable[[dict], Any], texts: LotTexts) -> None:
        self.kv = kv
        self.decode = decode
        self.texts = texts
        self.cache: dict[str, Any] = {}  # None: absent (never stored, or deleted in this batch)
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

    def delete(self, key: str) -> None:
        self.put(key, None)

    def keys(self, low: str, high: str) -> list[str]:
        """Present keys in [low, high), ascending: stored ones merged with this batch's changes."""
        stored = {k.decode() for k in self.kv.keys(low.encode(), high.encode())}
        changed = {k for k in self.dirty if low <= k < high}
        return sorted(k for k in stored | changed if k not in self.cache or self.cache[k] is not None)

    def last_key(self, low: str, high: str) -> str | None:
        """The greatest present key in [low, high)."""
        changed = sorted(k for k in self.dirty if low <= k < high and self.cache[k] is not None)
        for raw in self.kv.keys(low.encode(), high.encode(), reverse=True):
            key = raw.decode()
            if self.cache.get(key, True) is not None:  # not deleted in this batch
                return max(key, changed[-1]) if changed else key
        return changed[-1] if changed else None

    def encoded_changes(self) -> list[Change]:
        return [(key.encode(), None if self.cache[key] is None else encode(self.cache[key], self.texts))
                for key in sorted(self.dirty)]


class TableLedgerStore:
    """LedgerStore over one partition of the worker's tables (core.stored.TABLES)."""

    def __init__(self, kvs: dict[str, KeyValue]) -> None:
        # Lots decoded in this batch are encoded again only if they changed.
        self.texts = LotTexts()
        decoders = {**FROM_STORED, "positions": self._position,
                    "days": lambda stored: day_from_stored(stored, self.texts)}
        self._tables = {name: _CachedTable(kvs[name], decoders[name], self.texts) for name in TABLES}
        self._books, self._ledger, self._positions, self._cash, self._entries, self._days = (
            self._tables[name] for name in TABLES)

    def _position(self, stored: dict) -> PositionState:
        """A position; one in the layout before entries and days had tables moves them there now."""
        state = position_from_stored(stored, self.texts)
        legacy = legacy_layout(stored)
        if legacy is not None:
            entries, days = legacy
            for entry in entries:
                self.put_entry(state.portfolio_id, state.security_id, entry, state.applied)
            for day in days:
                self.put_day(day)
            self._positions.dirty.add(compound_key(state.portfolio_id, state.security_id))
        return state

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

    def entries_from(self, portfolio_id, security_id, since):
        return [entry_from_key(k) for k in self._entries.keys(*position_range(portfolio_id, security_id, since))]

    def last_entry(self, portfolio_id, security_id):
        key = self._entries.last_key(*position_range(portfolio_id, security_id))
        return None if key is None else entry_from_key(key)

    def put_entry(self, portfolio_id, security_id, entry, applied):
        self._entries.put(entry_key(portfolio_id, security_id, entry), entry_to_stored(applied))

    def delete_entry(self, portfolio_id, security_id, entry):
        self._entries.delete(entry_key(portfolio_id, security_id, entry))

    def day_before(self, portfolio_id, security_id, day):
        low, _ = position_range(portfolio_id, security_id)
        key = self._days.last_key(low, day_key(portfolio_id, security_id, day))
        return None if key is None else self._days.get(key)

    def days_from(self, portfolio_id, security_id, since):
        return [day_from_key(k) for k in self._days.keys(*position_range(portfolio_id, security_id, since))]

    def get_day(self, portfolio_id, security_id, day):
        return self._days.get(day_key(portfolio_id, security_id, day))

    def put_day(self, state: DayState) -> None:
        self._days.put(day_key(state.portfolio_id, state.security_id, state.day), state)

    def delete_day(self, portfolio_id, security_id, day):
        self._days.delete(day_key(portfolio_id, security_id, day))

    def changes(self) -> dict[str, list[Change]]:
        """Every dirty record, encoded (None: deleted), by table name."""
        return {name: items for name, table in self._tables.items() if (items := table.encoded_changes())}
