"""What the ledger needs of storage: its records by key, and each position's
effective order (entries) and end-of-day states (days) by range.

Entries and days are kept per (portfolio, security) in order, so that a change
on a date reads and rewrites only what lies on or after it. The stream layer
implements this over RocksDB-backed tables (range scans); `MemoryStore` is the
plain-dict implementation for tests and tools.
"""
from __future__ import annotations

from typing import Protocol

from core.records import CashState, DayState, Entry, PortfolioState, PositionState, TxRecord


class LedgerStore(Protocol):
    def get_portfolio(self, portfolio_id: str) -> PortfolioState | None: ...
    def put_portfolio(self, state: PortfolioState) -> None: ...
    def get_tx(self, portfolio_id: str, transaction_id: str) -> TxRecord | None: ...
    def put_tx(self, record: TxRecord) -> None: ...
    def get_position(self, portfolio_id: str, security_id: str) -> PositionState | None: ...
    def put_position(self, state: PositionState) -> None: ...
    def get_cash(self, portfolio_id: str, currency: str) -> CashState | None: ...
    def put_cash(self, state: CashState) -> None: ...

    def entries_from(self, portfolio_id: str, security_id: str, since: str | None) -> list[Entry]:
        """The position's entries traded on or after `since` (all if None), in effective order."""
    def last_entry(self, portfolio_id: str, security_id: str) -> Entry | None: ...
    def put_entry(self, portfolio_id: str, security_id: str, entry: Entry, applied: int) -> None: ...
    def delete_entry(self, portfolio_id: str, security_id: str, entry: Entry) -> None: ...

    def day_before(self, portfolio_id: str, security_id: str, day: str) -> DayState | None:
        """The latest end-of-day state dated before `day`."""
    def days_from(self, portfolio_id: str, security_id: str, since: str | None) -> list[str]:
        """The dates of the stored end-of-day states on or after `since` (all if None)."""
    def get_day(self, portfolio_id: str, security_id: str, day: str) -> DayState | None: ...
    def put_day(self, state: DayState) -> None: ...
    def delete_day(self, portfolio_id: str, security_id: str, day: str) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self.portfolios: dict[str, PortfolioState] = {}
        self.txs: dict[tuple[str, str], TxRecord] = {}
        self.positions: dict[tuple[str, str], PositionState] = {}
        self.cash: dict[tuple[str, str], CashState] = {}
        self.entries: dict[tuple[str, str], dict[tuple, int]] = {}
        self.days: dict[tuple[str, str], dict[str, DayState]] = {}

    def get_portfolio(self, portfolio_id):
        return self.portfolios.get(portfolio_id)

    def put_portfolio(self, state):
        self.portfolios[state.portfolio_id] = state

    def get_tx(self, portfolio_id, transaction_id):
        return self.txs.get((portfolio_id, transaction_id))

    def put_tx(self, record):
        self.txs[(record.fields.portfolio_id, record.fields.transaction_id)] = record

    def get_position(self, portfolio_id, security_id):
        return self.positions.get((portfolio_id, security_id))

    def put_position(self, state):
        self.positions[(state.portfolio_id, state.security_id)] = state

    def get_cash(self, portfolio_id, currency):
        return self.cash.get((portfolio_id, currency))

    def put_cash(self, state):
        self.cash[(state.portfolio_id, state.currency)] = state

    def entries_from(self, portfolio_id, security_id, since):
        held = self.entries.get((portfolio_id, security_id), {})
        return [list(e) for e in sorted(held) if since is None or e[0] >= since]

    def last_entry(self, portfolio_id, security_id):
        held = self.entries.get((portfolio_id, security_id))
        return list(max(held)) if held else None

    def put_entry(self, portfolio_id, security_id, entry, applied):
        self.entries.setdefault((portfolio_id, security_id), {})[tuple(entry)] = applied

    def delete_entry(self, portfolio_id, security_id, entry):
        self.entries.get((portfolio_id, security_id), {}).pop(tuple(entry), None)

    def day_before(self, portfolio_id, security_id, day):
        held = self.days.get((portfolio_id, security_id), {})
        earlier = [d for d in held if d < day]
        return held[max(earlier)] if earlier else None

    def days_from(self, portfolio_id, security_id, since):
        return sorted(d for d in self.days.get((portfolio_id, security_id), {}) if since is None or d >= since)

    def get_day(self, portfolio_id, security_id, day):
        return self.days.get((portfolio_id, security_id), {}).get(day)

    def put_day(self, state):
        self.days.setdefault((state.portfolio_id, state.security_id), {})[state.day] = state

    def delete_day(self, portfolio_id, security_id, day):
        self.days.get((portfolio_id, security_id), {}).pop(day, None)
