"""Realized gains per closed lot: what a closing trade realized, lot by lot.

A SELL that closes long lots, or a BUY that covers short lots, relieves lots
(core.lots.relieve_lots gives the pieces). Each piece becomes one `ClosedLot`:
its cost is what the lot carried, its proceeds the trade's share for it. For a
short lot the roles swap: the proceeds are what the short sale received (minus
the lot's cost, as a short lot carries it), the cost is the covering trade's
share. A trade's amount (net of fees) is shared pro rata by quantity, the last
piece taking what is left. A piece's gain is its proceeds minus its cost, but
the last piece's gain is the trade's realized P&L minus the others' gains: at
34 significant digits the two can differ in the last digit, and per closing
trade the gains must sum to its realized P&L exactly, local and base. Under
AVCO the pooled lot is no single purchase: its piece names no lot and no open
date.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.lots import Lot
from core.numbers import prorata


@dataclass(frozen=True, slots=True)
class ClosedLot:
    lot_transaction_id: str | None  # None: an AVCO pool
    open_date: str | None
    quantity: Decimal  # units closed, > 0 (for a short lot too)
    proceeds_local: Decimal
    proceeds_base: Decimal
    cost_local: Decimal
    cost_base: Decimal
    gain_local: Decimal
    gain_base: Decimal


def holding_days(open_date: date | None, close_date: date) -> int | None:
    """Calendar days a closed lot was held; None for an AVCO pool (no open date)."""
    return None if open_date is None else (close_date - open_date).days


def shares(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`amount` split pro rata by `weights`; the last share takes the remainder, so they sum to it exactly."""
    whole = sum(weights, Decimal(0))
    parts = [prorata(amount, weight, whole) for weight in weights[:-1]]
    return [*parts, amount - sum(parts, Decimal(0))]


def closed_lots(pieces: list[Lot], amount_local: Decimal, amount_base: Decimal, realized_local: Decimal,
                realized_base: Decimal, pooled: bool) -> list[ClosedLot]:
    """The relieved `pieces` of one closing trade whose amount for them was `amount_local`
    (`amount_base` in base currency): net proceeds when closing long lots, cost when covering
    short ones; `realized_*` is what the trade realized on them."""
    if not pieces:
        return []
    sizes = [abs(piece.quantity) for piece in pieces]
    local, base = shares(amount_local, sizes), shares(amount_base, sizes)
    closed: list[ClosedLot] = []
    for n, (piece, size, share_local, share_base) in enumerate(zip(pieces, sizes, local, base)):
        if piece.quantity > 0:
            proceeds_local, proceeds_base, cost_local, cost_base = share_local, share_base, piece.cost_local, piece.cost_base
        else:
            proceeds_local, proceeds_base, cost_local, cost_base = -piece.cost_local, -piece.cost_base, share_local, share_base
        if n < len(pieces) - 1:
            gain_local, gain_base = proceeds_local - cost_local, proceeds_base - cost_base
        else:
            gain_local = realized_local - sum((c.gain_local for c in closed), Decimal(0))
            gain_base = realized_base - sum((c.gain_base for c in closed), Decimal(0))
        closed.append(ClosedLot(None if pooled else piece.transaction_id, None if pooled else piece.open_date,
                                size, proceeds_local, proceeds_base, cost_local, cost_base, gain_local, gain_base))
    return closed
