"""Allocation of a portfolio's value (mv_base) into buckets (SPEC §2 Allocation).

Buckets by `asset_class`, `sector`, `currency`, `country` or `security`. Cash
is bucket `CASH` by asset_class, its own currency by currency, `CASH:<CCY>`
by security and `Unclassified` by sector and country. A security whose
instrument lacks the attribute (or is unknown) goes to `Unclassified`; by
currency a security goes to its instrument's currency (the position's when
the instrument is unknown).

Closed positions and zero balances are left out. Shorts and overdrafts weigh
negative. A figure whose mv_base is unknown (missing price or rate) is left
out too and makes the allocation `complete: False`; the weights are then
shares of the known total, so they still sum to 1 (SPEC "Missing market data
in analytics"). With a known total of 0 there is nothing to share: weights
are None.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from core.market import InstrumentInfo
from core.numbers import ZERO, div
from core.valuation import CashValue, PositionValue

ALLOCATION_KEYS = ("asset_class", "sector", "currency", "country", "security")
UNCLASSIFIED = "Unclassified"
CASH = "CASH"

Instruments = Callable[[str], InstrumentInfo | None] | Mapping[str, InstrumentInfo]


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    mv_base: Decimal
    weight: float | None


@dataclass(frozen=True, slots=True)
class Allocation:
    by: str
    complete: bool
    buckets: list[Bucket]  # largest mv_base first, then by name

    def weights(self) -> dict[str, float | None]:
        return {b.name: b.weight for b in self.buckets}


def security_bucket(by: str, position: PositionValue, info: InstrumentInfo | None) -> str:
    if by == "security":
        return position.security_id
    if by == "currency":
        return (info.currency if info is not None else position.currency) or UNCLASSIFIED
    return (getattr(info, by) if info is not None else None) or UNCLASSIFIED


def cash_bucket(by: str, currency: str) -> str:
    if by == "asset_class":
        return CASH
    if by == "currency":
        return currency
    if by == "security":
        return f"{CASH}:{currency}"
    return UNCLASSIFIED


def allocate(positions: Iterable[PositionValue], cash: Iterable[CashValue], instruments: Instruments,
             by: str) -> Allocation:
    if by not in ALLOCATION_KEYS:
        raise ValueError(f"allocation by {by!r}: expected one of {', '.join(ALLOCATION_KEYS)}")
    lookup = instruments.get if isinstance(instruments, Mapping) else instruments
    sums: dict[str, Decimal] = {}
    complete = True
    for position in positions:
        if position.quantity == 0:
            continue
        if position.mv_base is None:
            complete = False
            continue
        name = security_bucket(by, position, lookup(position.security_id))
        sums[name] = sums.get(name, ZERO) + position.mv_base
    for balance in cash:
        if balance.balance == 0:
            continue
        if balance.mv_base is None:
            complete = False
            continue
        name = cash_bucket(by, balance.currency)
        sums[name] = sums.get(name, ZERO) + balance.mv_base
    total = sum(sums.values(), ZERO)
    buckets = [Bucket(name, mv, None if total == 0 else float(div(mv, total))) for name, mv in sums.items()]
    buckets.sort(key=lambda b: (-b.mv_base, b.name))
    return Allocation(by, complete, buckets)
