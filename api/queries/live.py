"""The worker's live state (core.records `to_dict()` forms) → API rows. Pure.

Position state: `lots` are `[transaction_id, open_date, arrival, quantity,
cost_local, cost_base]` with decimals as strings; quantity and cost of a
position are sums over its lots. Cash state: `balance`, and `movers`, the
number of effective transactions that moved the currency.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from api.numbers import to_decimal, total
from api.queries.rows import CashRow, LotRow, PositionRow


def _lots(state: dict[str, Any]) -> list[LotRow]:
    rows = [LotRow(str(t), date.fromisoformat(o), int(a), to_decimal(q), to_decimal(cl), to_decimal(cb))
            for t, o, a, q, cl, cb in state.get("lots") or ()]
    return sorted(rows, key=lambda lot: (lot.open_date, lot.arrival))


def _position(state: dict[str, Any]) -> PositionRow:
    lots = _lots(state)
    return PositionRow(
        security_id=state["security_id"],
        currency=state.get("currency"),
        quantity=total(lot.quantity for lot in lots),
        cost_local=total(lot.cost_local for lot in lots),
        cost_base=total(lot.cost_base for lot in lots),
        realized_local=to_decimal(state.get("realized_local") or "0"),
        realized_base=to_decimal(state.get("realized_base") or "0"),
    )


def _listed(live: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["security_id"]: p for p in live["positions"] if p.get("listed")}


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
    rows = [CashRow(c["currency"], to_decimal(c["balance"])) for c in live["cash"] if c.get("movers", 0) > 0]
    return sorted(rows, key=lambda row: row.currency)
