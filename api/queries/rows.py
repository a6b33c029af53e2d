"""Plain rows shared by the live and the PostgreSQL reads."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

from api.numbers import ratio

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int

    def slice(self, items: list[T]) -> list[T]:
        return items[self.offset:self.offset + self.limit]


@dataclass(frozen=True, slots=True)
class Paged(Generic[T]):
    total: int
    items: list[T]


@dataclass(frozen=True, slots=True)
class PositionRow:
    security_id: str
    currency: str | None
    quantity: Decimal
    cost_local: Decimal
    cost_base: Decimal
    realized_local: Decimal
    realized_base: Decimal

    @property
    def avg_cost_local(self) -> Decimal | None:
        return ratio(self.cost_local, self.quantity)


@dataclass(frozen=True, slots=True)
class LotRow:
    transaction_id: str
    open_date: date
    arrival: int
    quantity: Decimal
    cost_local: Decimal
    cost_base: Decimal


@dataclass(frozen=True, slots=True)
class CashRow:
    currency: str
    amount: Decimal
