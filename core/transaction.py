"""The fields of one transaction version, as the domain keeps them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from core.numbers import ZERO

# Types that act on a (portfolio, security) position's lots.
LOT_TYPES = frozenset({"BUY", "SELL", "TRANSFER_IN", "TRANSFER_OUT", "SPLIT"})
# Types that make a position listed (SPLIT alone does not).
LISTING_TYPES = LOT_TYPES - {"SPLIT"}


def _iso(value: date | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(value)


@dataclass(frozen=True, slots=True)
class TxFields:
    transaction_id: str
    portfolio_id: str
    version: int
    status: str
    type: str | None
    trade_date: str | None
    settlement_date: str | None
    security_id: str | None
    quantity: Decimal | None
    price: Decimal | None
    amount: Decimal | None
    fees: Decimal
    currency: str | None
    fx_rate: Decimal | None

    @property
    def booked(self) -> bool:
        return self.status == "BOOKED"

    @property
    def acts_on_lots(self) -> bool:
        return self.booked and self.type in LOT_TYPES

    @classmethod
    def from_event(cls, tx: Any) -> TxFields:
        """From a validated transaction event (any object with the fields)."""
        return cls(
            transaction_id=tx.transaction_id,
            portfolio_id=tx.portfolio_id,
            version=int(tx.version),
            status=str(tx.status),
            type=None if tx.type is None else str(tx.type),
            trade_date=_iso(tx.trade_date),
            settlement_date=_iso(tx.settlement_date),
            security_id=tx.security_id,
            quantity=tx.quantity,
            price=tx.price,
            amount=tx.amount,
            fees=tx.fees if tx.fees is not None else ZERO,
            currency=tx.currency,
            fx_rate=tx.fx_rate,
        )
