"""The state records kept per key, and their plain-dict form for storage.

Every record carries `seq`, bumped on each change, so a downstream sink can
refuse to move a row backwards, and `applied`, the source offset of the event
that last changed it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.lots import Lot
from core.numbers import ZERO, text
from core.transaction import TxFields


def _d(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


@dataclass(slots=True)
class TxRecord:
    """A transaction id's version in effect (or its cancellation)."""

    fields: TxFields
    arrival: int
    fx: Decimal | None = None
    realized_local: Decimal = ZERO
    realized_base: Decimal = ZERO
    cash: dict[str, Decimal] = field(default_factory=dict)
    seq: int = 0
    applied: int = -1
    # The versions this one replaced, oldest first, in stored form ({fields,
    # arrival, seq}): one ledger value per key per batch reaches the changelog,
    # so a version superseded within a batch is known downstream only from here.
    # At most one entry per version of the id.
    superseded: list[dict[str, Any]] = field(default_factory=list)

    @property
    def effective(self) -> bool:
        return self.fields.booked

    def version_entry(self) -> dict[str, Any]:
        """This version as a later one's `superseded` keeps it."""
        return {"fields": self.fields.to_dict(), "arrival": self.arrival, "seq": self.seq}

    def to_dict(self) -> dict[str, Any]:
        return {
            "fields": self.fields.to_dict(),
            "arrival": self.arrival,
            "fx": text(self.fx),
            "realized_local": text(self.realized_local),
            "realized_base": text(self.realized_base),
            "cash": {c: text(a) for c, a in self.cash.items()},
            "seq": self.seq,
            "applied": self.applied,
            "superseded": self.superseded,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TxRecord:
        return cls(
            fields=TxFields.from_dict(d["fields"]),
            arrival=d["arrival"],
            fx=_d(d["fx"]),
            realized_local=Decimal(d["realized_local"]),
            realized_base=Decimal(d["realized_base"]),
            cash={c: Decimal(a) for c, a in d["cash"].items()},
            seq=d["seq"],
            applied=d["applied"],
            superseded=d.get("superseded", []),  # absent in records stored before it existed
        )


# A position at the end of a day on which it changed, kept in its stored text
# form ([date, quantity, cost_local, cost_base, realized_local, realized_base])
# because it is only ever appended to, replaced whole, or handed to the sink.
DayRow = list[str]


def day_row(day: str, quantity: Decimal, cost_local: Decimal, cost_base: Decimal,
            realized_local: Decimal, realized_base: Decimal) -> DayRow:
    return [day, text(quantity), text(cost_local), text(cost_base), text(realized_local), text(realized_base)]


@dataclass(slots=True)
class PositionState:
    portfolio_id: str
    security_id: str
    currency: str | None = None
    # [trade_date, arrival, transaction_id] of the effective lot-acting
    # transactions, in effective order (lists, as stored: no copy per load).
    entries: list[list] = field(default_factory=list)
    lots: list[Lot] = field(default_factory=list)
    realized_local: Decimal = ZERO
    realized_base: Decimal = ZERO
    listed: bool = False
    history: list[DayRow] = field(default_factory=list)
    # The earliest date whose history the last change rewrote.
    history_from: str | None = None
    seq: int = 0
    applied: int = -1

    @property
    def quantity(self) -> Decimal:
        return sum((lot.quantity for lot in self.lots), ZERO)

    @property
    def cost_local(self) -> Decimal:
        return sum((lot.cost_local for lot in self.lots), ZERO)

    @property
    def cost_base(self) -> Decimal:
        return sum((lot.cost_base for lot in self.lots), ZERO)

    def to_dict(self) -> dict[str, Any]:
        return {
            "portfolio_id": self.portfolio_id,
            "security_id": self.security_id,
            "currency": self.currency,
            "entries": self.entries,
            "lots": [[lot.transaction_id, lot.open_date, lot.arrival, text(lot.quantity),
                      text(lot.cost_local), text(lot.cost_base)] for lot in self.lots],
            "realized_local": text(self.realized_local),
            "realized_base": text(self.realized_base),
            "listed": self.listed,
            "history": self.history,
            "history_from": self.history_from,
            "seq": self.seq,
            "applied": self.applied,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PositionState:
        return cls(
            portfolio_id=d["portfolio_id"],
            security_id=d["security_id"],
            currency=d["currency"],
            entries=d["entries"],
            lots=[Lot(t, o, a, Decimal(q), Decimal(cl), Decimal(cb)) for t, o, a, q, cl, cb in d["lots"]],
            realized_local=Decimal(d["realized_local"]),
            realized_base=Decimal(d["realized_base"]),
            listed=d["listed"],
            history=d["history"],
            history_from=d["history_from"],
            seq=d["seq"],
            applied=d["applied"],
        )


@dataclass(slots=True)
class CashState:
    portfolio_id: str
    currency: str
    balance: Decimal = ZERO
    # How many effective transactions moved this currency: it stays listed
    # while any does, even when the balance nets back to 0.
    movers: int = 0
    seq: int = 0
    applied: int = -1

    def to_dict(self) -> dict[str, Any]:
        return {"portfolio_id": self.portfolio_id, "currency": self.currency,
                "balance": text(self.balance), "movers": self.movers,
                "seq": self.seq, "applied": self.applied}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CashState:
        return cls(d["portfolio_id"], d["currency"], Decimal(d["balance"]), d["movers"],
                   d["seq"], d["applied"])


@dataclass(slots=True)
class PortfolioState:
    portfolio_id: str
    definition: dict[str, Any]
    securities: list[str] = field(default_factory=list)
    currencies: list[str] = field(default_factory=list)
    seq: int = 0
    applied: int = -1

    @property
    def cost_method(self) -> str:
        return self.definition.get("cost_method") or "FIFO"

    @property
    def base_currency(self) -> str:
        return self.definition["base_currency"]

    def to_dict(self) -> dict[str, Any]:
        return {"portfolio_id": self.portfolio_id, "definition": self.definition,
                "securities": self.securities, "currencies": self.currencies,
                "seq": self.seq, "applied": self.applied}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PortfolioState:
        return cls(d["portfolio_id"], d["definition"], d["securities"], d["currencies"],
                   d["seq"], d["applied"])
