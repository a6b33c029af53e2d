"""The worker's live state (its records in core.stored's form) → API rows. Pure."""
from __future__ import annotations

from datetime import date
from typing import Any

from api.queries.rows import CashRow, LotRow, PositionRow
from core.records import PositionState
from core.stored import cash_from_stored, position_from_stored


def _lots(state: PositionState) -> list[LotRow]:
    rows = [LotRow(lot.transaction_id, date.fromisoformat(lot.open_date), lot.arrival, lot.quantity,
                   lot.cost_local, lot.cost_base) for lot in state.lots]
    return sorted(rows, key=lambda lot: (lot.open_date, lot.arrival))


def _position(state: PositionState) -> PositionRow:
    return PositionRow(security_id=state.security_id, currency=state.currency, quantity=state.quantity,
                       cost_local=state.cost_local, cost_base=state.cost_base,
                       realized_local=state.realized_local, realized_base=state.realized_base)


def _listed(live: dict[str, Any]) -> dict[str, PositionState]:
    return {p["security_id"]: position_from_stored(p) for p in live["positions"] if p.get("listed")}


def live_positions(live: dict[str, Any]) -> list[PositionRow]:
    """Listed positions (closed ones included), by security_id."""
    listed = _listed(live)
    return [_position(listed[sid]) for sid in sorted(listed)]


def live_lots(live: dict[str, Any], security_id: str) -> list[LotRow] | None:
    """Open lots by (open_date, arrival); None when the security is no listed position."""
    state = _listed(live).get(security_id)
    return None if state is None else _lots(state)


def live_cash(live: dict[str, Any]) -> list[CashRow]:
    """Balances of the currencies any effective transaction moved, by currency."""
    balances = (cash_from_stored(c) for c in live["cash"])
    return sorted((CashRow(c.currency, c.balance) for c in balances if c.movers > 0), key=lambda row: row.currency)
