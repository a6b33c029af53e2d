"""Cost lots and how a quantity is relieved from them under each cost method.

Lots of one position are all long or all short (a trade that crosses zero
closes one side before opening the other). A short lot has negative quantity
and carries minus its proceeds as cost.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Context, Decimal

from core.numbers import ZERO, div, mul, prorata


@dataclass(frozen=True, slots=True)
class Lot:
    transaction_id: str
    open_date: str
    arrival: int
    quantity: Decimal
    cost_local: Decimal
    cost_base: Decimal

    @property
    def age(self) -> tuple[str, int]:
        return (self.open_date, self.arrival)

    @property
    def unit_cost(self) -> Decimal:
        return div(self.cost_local, self.quantity)


@dataclass(frozen=True, slots=True)
class Relief:
    """What relieving a quantity took out of the lots."""

    remaining: list[Lot]
    quantity: Decimal
    cost_local: Decimal
    cost_base: Decimal
    # The relieved pieces in relief order: whole lots, or the part taken of a lot
    # (its quantity and pro-rata cost), for the realized-gains report.
    parts: list[Lot]


def _fifo(lots: list[Lot]) -> list[int]:
    return sorted(range(len(lots)), key=lambda i: lots[i].age)


def _lifo(lots: list[Lot]) -> list[int]:
    return sorted(range(len(lots)), key=lambda i: lots[i].age, reverse=True)


# Unit costs are compared at 28 significant digits: a partly relieved lot's
# cost is rounded at 34, and that last-digit noise must not break a tie.
_RANK_CTX = Context(prec=28, rounding=ROUND_HALF_EVEN)


def _hifo(lots: list[Lot]) -> list[int]:
    # Highest cost per unit first (fees included); ties go oldest first.
    # For short lots cost/quantity is the proceeds per unit, so the same rule
    # covers the richest short first.
    ages = _fifo(lots)
    rank = {i: n for n, i in enumerate(ages)}
    return sorted(range(len(lots)), key=lambda i: (-_RANK_CTX.plus(lots[i].unit_cost), rank[i]))


# AVCO keeps a single pooled lot per side, so any order relieves it pro rata.
RELIEF_ORDER: dict[str, Callable[[list[Lot]], list[int]]] = {
    "FIFO": _fifo,
    "LIFO": _lifo,
    "HIFO": _hifo,
    "AVCO": _fifo,
}


def relieve_lots(lots: list[Lot], units: Decimal, method: str) -> Relief:
    """Take `units` (> 0, at most the held size) out of same-side `lots`.

    A lot partly relieved is split pro rata by quantity; the remainder keeps
    `cost − relieved` so that a fully relieved position is left with exactly 0.
    """
    taken_local = taken_base = ZERO
    left = units
    remaining = list(lots)
    parts: list[Lot] = []
    for i in RELIEF_ORDER[method](lots):
        if left <= 0:
            break
        lot = lots[i]
        size = abs(lot.quantity)
        if size <= left:
            taken_local += lot.cost_local
            taken_base += lot.cost_base
            remaining[i] = None  # type: ignore[call-overload]
            parts.append(lot)
            left -= size
            continue
        part_local = prorata(lot.cost_local, left, size)
        part_base = prorata(lot.cost_base, left, size)
        sign = 1 if lot.quantity > 0 else -1
        remaining[i] = replace(
            lot,
            quantity=lot.quantity - sign * left,
            cost_local=lot.cost_local - part_local,
            cost_base=lot.cost_base - part_base,
        )
        taken_local += part_local
        taken_base += part_base
        parts.append(replace(lot, quantity=sign * left, cost_local=part_local, cost_base=part_base))
        left = ZERO
    return Relief(
        remaining=[lot for lot in remaining if lot is not None],
        quantity=units - left,
        cost_local=taken_local,
        cost_base=taken_base,
        parts=parts,
    )


def open_lot(lots: list[Lot], lot: Lot, method: str) -> list[Lot]:
    """Add a newly opened lot; AVCO pools it into the side's single lot."""
    if method != "AVCO" or not lots:
        return [*lots, lot]
    pool = lots[0]
    return [
        replace(
            pool,
            quantity=pool.quantity + lot.quantity,
            cost_local=pool.cost_local + lot.cost_local,
            cost_base=pool.cost_base + lot.cost_base,
        )
    ]


def scale_lots(lots: list[Lot], ratio: Decimal) -> list[Lot]:
    return [replace(lot, quantity=mul(lot.quantity, ratio)) for lot in lots]


def held(lots: list[Lot]) -> Decimal:
    return sum((lot.quantity for lot in lots), ZERO)


def totals(lots: list[Lot]) -> tuple[Decimal, Decimal, Decimal]:
    """Quantity, local cost and base cost held in `lots`."""
    quantity = cost_local = cost_base = ZERO
    for lot in lots:
        quantity += lot.quantity
        cost_local += lot.cost_local
        cost_base += lot.cost_base
    return quantity, cost_local, cost_base
