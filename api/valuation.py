"""Valuation of positions and cash — the seam for market data.

Prices and FX are not read yet: every figure that needs them is null and each
position says `missing_price` (SPEC §2: a missing price never counts as zero).
A later issue fills these in from the `prices`/`fx_rates` tables (latest on or
before the as-of date) without changing the routes or the response models.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from api.queries.rows import CashRow, PositionRow

MISSING_PRICE = "missing_price"
MISSING_FX = "missing_fx"
OK = "ok"


@dataclass(frozen=True, slots=True)
class PositionValue:
    mv_local: Decimal | None = None
    mv_base: Decimal | None = None
    unrealized_local: Decimal | None = None
    unrealized_base: Decimal | None = None
    weight: float | None = None
    valuation_status: str = MISSING_PRICE


NOT_VALUED = PositionValue()


def value_positions(positions: Sequence[PositionRow], as_of: date | None) -> list[PositionValue]:
    """One PositionValue per position, in order; `as_of` None means latest."""
    return [NOT_VALUED for _ in positions]


def value_cash(balances: Sequence[CashRow], as_of: date | None) -> list[Decimal | None]:
    """Each balance in the portfolio's base currency (None: rate unknown)."""
    return [None for _ in balances]
