"""The state records kept per key: what the ledger reads and writes.

Every record carries `seq`, bumped on each change, so a downstream sink can
refuse to move a row backwards, and `applied`, the source offset of the event
that last changed it. How they are stored is core.stored's business alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.lots import Lot, totals
from core.numbers import ZERO
from core.realized import ClosedLot
from core.transaction import TxFields


@dataclass(frozen=True, slots=True)
class TxVersion:
    """A version of a transaction id that a later one replaced."""

    fields: TxFields
    arrival: int
    seq: int


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
    # The versions this one replaced, oldest first: one ledger value per key
    # per batch reaches the changelog, so a version superseded within a batch
    # is known downstream only from here. At most one entry per version of the id.
    superseded: list[TxVersion] = field(default_factory=list)
    # The lots a closing trade relieved and what each realized (core.realized).
    closed: list[ClosedLot] = field(default_factory=list)

    @property
    def effective(self) -> bool:
        return self.fields.booked

    def version(self) -> TxVersion:
        """This version as a later one's `superseded` keeps it."""
        return TxVersion(self.fields, self.arrival, self.seq)


# A lot-acting transaction's place in its position's effective order:
# [trade_date, arrival, transaction_id] (lists compare in that order).
Entry = list


@dataclass(slots=True)
class PositionState:
    """A position's head: what an in-order transaction reads and writes, whatever its past.

    Its effective order (entries) and its end-of-day states (days) are kept
    per key by the store, so that a back-dated change replays only the suffix
    from its date."""

    portfolio_id: str
    security_id: str
    currency: str | None = None
    lots: list[Lot] = field(default_factory=list)
    realized_local: Decimal = ZERO
    realized_base: Decimal = ZERO
    listed: bool = False
    # The last entry of the effective order: a later one is booked on top of the lots.
    last_entry: Entry | None = None
    # The earliest date whose end-of-day state the last change rewrote.
    history_from: str | None = None
    seq: int = 0
    applied: int = -1
    # Totals over `lots`, kept with them (set_lots) so no reader re-sums them.
    quantity: Decimal = field(default=ZERO, init=False)
    cost_local: Decimal = field(default=ZERO, init=False)
    cost_base: Decimal = field(default=ZERO, init=False)

    def __post_init__(self) -> None:
        if self.lots:
            self.set_lots(self.lots)

    def set_lots(self, lots: list[Lot]) -> None:
        self.lots = lots
        self.quantity, self.cost_local, self.cost_base = totals(lots)


@dataclass(slots=True)
class DayState:
    """A position at the end of a day on which it changed: its history row, and
    where a replay of the days after it starts from.

    `lots` is None for a day that does not keep them (core.day_lots), and for
    a day carried over from the state layout before days had their own table:
    a replay starts from the latest earlier day that keeps them, or from the
    beginning."""

    portfolio_id: str
    security_id: str
    day: str
    lots: list[Lot] | None
    quantity: Decimal
    cost_local: Decimal
    cost_base: Decimal
    realized_local: Decimal
    realized_base: Decimal
    listed: bool
    currency: str | None
    seq: int  # the position's seq that wrote it
    applied: int

    @classmethod
    def of(cls, position: PositionState, day: str, keep_lots: bool = True) -> DayState:
        """The position's state at the end of `day`; without its lots unless `keep_lots` (core.day_lots)."""
        return cls(position.portfolio_id, position.security_id, day, position.lots if keep_lots else None,
                   position.quantity,
                   position.cost_local, position.cost_base, position.realized_local, position.realized_base,
                   position.listed, position.currency, position.seq, position.applied)


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
