"""What the ledger needs of storage: get and put of its four record kinds.

The stream layer implements it over RocksDB-backed tables; `MemoryStore` is
the plain-dict implementation for tests and tools.
"""
from __future__ import annotations

from typing import Protocol

from core.records import CashState, PortfolioState, PositionState, TxRecord


class LedgerStore(Protocol):
    def get_portfolio(self, portfolio_id: str) -> PortfolioState | None: ...
    def put_portfolio(self, state: PortfolioState) -> None: ...
    def get_tx(self, portfolio_id: str, transaction_id: str) -> TxRecord | None: ...
    def put_tx(self, record: TxRecord) -> None: ...
    def get_position(self, portfolio_id: str, security_id: str) -> PositionState | None: ...
    def put_position(self, state: PositionState) -> None: ...
    def get_cash(self, portfolio_id: str, currency: str) -> CashState | None: ...
    def put_cash(self, state: CashState) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self.portfolios: dict[str, PortfolioState] = {}
        self.txs: dict[tuple[str, str], TxRecord] = {}
        self.positions: dict[tuple[str, str], PositionState] = {}
        self.cash: dict[tuple[str, str], CashState] = {}

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
