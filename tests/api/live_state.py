"""The worker's live answer (`GET /live/portfolios/{id}/`), built from the real
state records of core.records, stored by core.stored, so that the API is tested against their forms."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.lots import Lot
from core.market import MarketData
from core.quote_snapshot import snapshot_quotes
from core.records import CashState, PortfolioState, PositionState
from core.stored import to_stored


def lot(transaction_id: str, open_date: str, arrival: int, quantity: str, cost_local: str,
        cost_base: str | None = None) -> Lot:
    return Lot(transaction_id, open_date, arrival, Decimal(quantity), Decimal(cost_local),
               Decimal(cost_base if cost_base is not None else cost_local))


def position(portfolio_id: str, security_id: str, *lots: Lot, currency: str = "USD", listed: bool = True,
             realized_local: str = "0", realized_base: str | None = None) -> dict[str, Any]:
    return to_stored(PositionState(
        portfolio_id, security_id, currency=currency, lots=list(lots),
        realized_local=Decimal(realized_local),
        realized_base=Decimal(realized_base if realized_base is not None else realized_local),
        listed=listed,
    ))


def cash(portfolio_id: str, currency: str, balance: str, movers: int = 1) -> dict[str, Any]:
    return to_stored(CashState(portfolio_id, currency, Decimal(balance), movers))


def live_answer(portfolio_id: str, positions: list[dict[str, Any]] = (), cash_states: list[dict[str, Any]] = (),
                base_currency: str = "USD", market: MarketData | None = None) -> dict[str, Any]:
    """`market`: what the worker's feeds hold (default none: every price missing)."""
    book = to_stored(PortfolioState(
        portfolio_id,
        {"portfolio_id": portfolio_id, "name": f"Portfolio {portfolio_id}", "base_currency": base_currency,
         "cost_method": "FIFO", "open_date": "2024-01-01"},
        securities=[p["security_id"] for p in positions],
        currencies=[c["currency"] for c in cash_states],
    ))
    quotes = snapshot_quotes(market or MarketData(), {p["security_id"]: p["currency"] for p in positions
                                                      if p["listed"]},
                             [c["currency"] for c in cash_states], base_currency)
    return {"book": book, "positions": list(positions), "cash": list(cash_states), "market": quotes}
