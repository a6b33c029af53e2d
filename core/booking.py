"""Booking a trade onto a position's lots: one small function per type.

Each booker takes the open lots, the transaction, its FX rate (base units per
unit of the transaction currency) and the cost method, and returns the new
lots and the realized P&L. Realized P&L comes from trades only: transfers and
splits realize nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from core.lots import Lot, held, open_lot, relieve_lots, scale_lots
from core.numbers import ZERO, mul, prorata
from core.realized import ClosedLot, closed_lots
from core.transaction import TxFields


@dataclass(frozen=True, slots=True)
class Booked:
    lots: list[Lot]
    realized_local: Decimal = ZERO
    realized_base: Decimal = ZERO
    closed: list[ClosedLot] = field(default_factory=list)  # what each relieved lot realized


@dataclass(frozen=True, slots=True)
class Opening:
    """Where a transaction opens a lot: its identity and its age."""

    transaction_id: str
    trade_date: str
    arrival: int

    def lot(self, quantity: Decimal, cost_local: Decimal, fx: Decimal) -> Lot:
        return Lot(self.transaction_id, self.trade_date, self.arrival, quantity, cost_local, mul(cost_local, fx))


def _against(lots: list[Lot], long_side: bool) -> Decimal:
    """Units on the opposite side that a trade in this direction closes first."""
    qty = held(lots)
    return -qty if long_side and qty < 0 else (qty if not long_side and qty > 0 else ZERO)


def book_buy(lots: list[Lot], tx: TxFields, at: Opening, fx: Decimal, method: str) -> Booked:
    q, total_cost = tx.quantity, mul(tx.quantity, tx.price) + tx.fees
    cover = min(q, _against(lots, long_side=True))
    realized_local = realized_base = ZERO
    closed = []
    if cover > 0:
        # A BUY that covers shorts splits its price and fees pro rata.
        cover_cost = prorata(total_cost, cover, q)
        cover_cost_base = mul(cover_cost, fx)
        relief = relieve_lots(lots, cover, method)
        lots = relief.remaining
        realized_local = -relief.cost_local - cover_cost
        realized_base = -relief.cost_base - cover_cost_base
        closed = closed_lots(relief.parts, cover_cost, cover_cost_base, realized_local, realized_base,
                             pooled=method == "AVCO")
        total_cost -= cover_cost
    rest = q - cover
    if rest > 0:
        lots = open_lot(lots, at.lot(rest, total_cost, fx), method)
    return Booked(lots, realized_local, realized_base, closed)


def book_sell(lots: list[Lot], tx: TxFields, at: Opening, fx: Decimal, method: str) -> Booked:
    q, proceeds = tx.quantity, mul(tx.quantity, tx.price) - tx.fees
    close = min(q, _against(lots, long_side=False))
    realized_local = realized_base = ZERO
    closed = []
    if close > 0:
        close_proceeds = prorata(proceeds, close, q)
        close_proceeds_base = mul(close_proceeds, fx)
        relief = relieve_lots(lots, close, method)
        lots = relief.remaining
        realized_local = close_proceeds - relief.cost_local
        realized_base = close_proceeds_base - relief.cost_base
        closed = closed_lots(relief.parts, close_proceeds, close_proceeds_base, realized_local, realized_base,
                             pooled=method == "AVCO")
        proceeds -= close_proceeds
    rest = q - close
    if rest > 0:
        # A short is carried at minus its net proceeds.
        lots = open_lot(lots, at.lot(-rest, -proceeds, fx), method)
    return Booked(lots, realized_local, realized_base, closed)


def book_transfer_in(lots: list[Lot], tx: TxFields, at: Opening, fx: Decimal, method: str) -> Booked:
    q = tx.quantity
    cover = min(q, _against(lots, long_side=True))
    if cover > 0:
        lots = relieve_lots(lots, cover, method).remaining
    rest = q - cover
    if rest > 0:
        # Cost carried in is quantity × price; the transfer's fees only leave cash.
        lots = open_lot(lots, at.lot(rest, mul(rest, tx.price), fx), method)
    return Booked(lots)


def book_transfer_out(lots: list[Lot], tx: TxFields, at: Opening, fx: Decimal, method: str) -> Booked:
    q = tx.quantity
    close = min(q, _against(lots, long_side=False))
    if close > 0:
        lots = relieve_lots(lots, close, method).remaining
    rest = q - close
    if rest > 0:
        lots = open_lot(lots, at.lot(-rest, -mul(rest, tx.price or ZERO), fx), method)
    return Booked(lots)


def book_split(lots: list[Lot], tx: TxFields, at: Opening, fx: Decimal, method: str) -> Booked:
    return Booked(scale_lots(lots, tx.quantity))


Booker = Callable[[list[Lot], TxFields, Opening, Decimal, str], Booked]

BOOKERS: dict[str, Booker] = {
    "BUY": book_buy,
    "SELL": book_sell,
    "TRANSFER_IN": book_transfer_in,
    "TRANSFER_OUT": book_transfer_out,
    "SPLIT": book_split,
}


def book(lots: list[Lot], tx: TxFields, arrival: int, fx: Decimal | None, method: str) -> Booked:
    opening = Opening(tx.transaction_id, tx.trade_date or "", arrival)
    return BOOKERS[tx.type](lots, tx, opening, fx if fx is not None else Decimal(1), method)
