"""The stored form of the ledger's records: the only code that knows it.

The positions worker writes these bytes to RocksDB and to the table
changelogs (streams.table_store), the sink reads the changelogs into rows
(sink.rows) and the API reads the worker's live answer (api.queries.live),
all through this module, so a layout changes in one place and nothing parses
a record by position anywhere else.

Values are JSON objects; decimals are canonical strings (core.numbers.text),
never floats, so a figure survives any number of round trips exactly. Keys are
ids joined by `SEP`. A position keeps its totals (`quantity`, `cost_local`,
`cost_base`) beside its lots, so readers never re-sum them; a record stored
before the totals existed gets them from its lots when it is read.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from core.lots import Lot
from core.numbers import ZERO, text
from core.realized import ClosedLot
from core.records import CashState, PortfolioState, PositionState, TxRecord, TxVersion
from core.transaction import TxFields

SEP = "\x1f"  # unit separator: cannot appear in ids that come from JSON text keys

Stored = dict[str, Any]


def compound_key(*parts: str) -> str:
    return SEP.join(parts)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def loads(raw: bytes | str) -> Any:
    return orjson.loads(raw)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# -- transaction fields and versions ---------------------------------------------------------

def fields_to_stored(f: TxFields) -> Stored:
    return {
        "transaction_id": f.transaction_id, "portfolio_id": f.portfolio_id, "version": f.version,
        "status": f.status, "type": f.type, "trade_date": f.trade_date, "settlement_date": f.settlement_date,
        "security_id": f.security_id, "quantity": text(f.quantity), "price": text(f.price),
        "amount": text(f.amount), "fees": text(f.fees), "currency": f.currency, "fx_rate": text(f.fx_rate),
    }


def fields_from_stored(d: Stored) -> TxFields:
    return TxFields(
        transaction_id=d["transaction_id"], portfolio_id=d["portfolio_id"], version=d["version"],
        status=d["status"], type=d["type"], trade_date=d["trade_date"],
        settlement_date=d.get("settlement_date"), security_id=d.get("security_id"),
        quantity=_decimal(d.get("quantity")), price=_decimal(d.get("price")), amount=_decimal(d.get("amount")),
        fees=_decimal(d.get("fees")) or ZERO, currency=d.get("currency"), fx_rate=_decimal(d.get("fx_rate")),
    )


def version_to_stored(v: TxVersion) -> Stored:
    return {"fields": fields_to_stored(v.fields), "arrival": v.arrival, "seq": v.seq}


def version_from_stored(d: Stored) -> TxVersion:
    return TxVersion(fields_from_stored(d["fields"]), d["arrival"], d["seq"])


def closed_to_stored(c: ClosedLot) -> list:
    return [c.lot_transaction_id, c.open_date, text(c.quantity), text(c.proceeds_local), text(c.proceeds_base),
            text(c.cost_local), text(c.cost_base), text(c.gain_local), text(c.gain_base)]


def closed_from_stored(row: list) -> ClosedLot:
    lot_transaction_id, open_date, *figures = row
    return ClosedLot(lot_transaction_id, open_date, *(Decimal(v) for v in figures))


def tx_to_stored(r: TxRecord) -> Stored:
    return {
        "fields": fields_to_stored(r.fields), "arrival": r.arrival, "fx": text(r.fx),
        "realized_local": text(r.realized_local), "realized_base": text(r.realized_base),
        "cash": {c: text(a) for c, a in r.cash.items()}, "seq": r.seq, "applied": r.applied,
        "superseded": [version_to_stored(v) for v in r.superseded],
        "closed": [closed_to_stored(c) for c in r.closed],
    }


def tx_from_stored(d: Stored) -> TxRecord:
    return TxRecord(
        fields=fields_from_stored(d["fields"]), arrival=d["arrival"], fx=_decimal(d["fx"]),
        realized_local=Decimal(d["realized_local"]), realized_base=Decimal(d["realized_base"]),
        cash={c: Decimal(a) for c, a in d["cash"].items()}, seq=d["seq"], applied=d["applied"],
        superseded=[version_from_stored(v) for v in d.get("superseded", ())],  # absent before it existed
        closed=[closed_from_stored(c) for c in d.get("closed", ())],  # absent before it existed
    )


# -- positions -------------------------------------------------------------------------------

def lot_to_stored(lot: Lot) -> list:
    return [lot.transaction_id, lot.open_date, lot.arrival, text(lot.quantity), text(lot.cost_local),
            text(lot.cost_base)]


def lot_from_stored(row: list) -> Lot:
    transaction_id, open_date, arrival, quantity, cost_local, cost_base = row
    return Lot(transaction_id, open_date, arrival, Decimal(quantity), Decimal(cost_local), Decimal(cost_base))


def position_to_stored(p: PositionState) -> Stored:
    return {
        "portfolio_id": p.portfolio_id, "security_id": p.security_id, "currency": p.currency,
        "entries": p.entries, "lots": [lot_to_stored(lot) for lot in p.lots],
        "quantity": text(p.quantity), "cost_local": text(p.cost_local), "cost_base": text(p.cost_base),
        "realized_local": text(p.realized_local), "realized_base": text(p.realized_base),
        "listed": p.listed, "history": p.history, "history_from": p.history_from,
        "seq": p.seq, "applied": p.applied,
    }


def position_from_stored(d: Stored) -> PositionState:
    """A position; `entries` and `history` may be absent (the worker's live answer leaves them out)."""
    lots = [lot_from_stored(row) for row in d["lots"]]
    state = PositionState(
        portfolio_id=d["portfolio_id"], security_id=d["security_id"], currency=d["currency"],
        entries=d.get("entries", []), realized_local=Decimal(d["realized_local"]),
        realized_base=Decimal(d["realized_base"]), listed=d["listed"], history=d.get("history", []),
        history_from=d.get("history_from"), seq=d["seq"], applied=d["applied"],
    )
    if "quantity" in d:  # lots given after construction: the stored totals are taken, not re-summed
        state.lots = lots
        state.quantity, state.cost_local, state.cost_base = (
            Decimal(d["quantity"]), Decimal(d["cost_local"]), Decimal(d["cost_base"]))
    else:
        state.set_lots(lots)
    return state


# A position at the end of a day on which it changed: [date, quantity, cost_local, cost_base,
# realized_local, realized_base], kept as text by the ledger (PositionState.history).
DayRow = list[str]


def day_row(day: str, quantity: Decimal, cost_local: Decimal, cost_base: Decimal,
            realized_local: Decimal, realized_base: Decimal) -> DayRow:
    return [day, text(quantity), text(cost_local), text(cost_base), text(realized_local), text(realized_base)]


def day_from_stored(row: DayRow) -> tuple[str, Decimal, Decimal, Decimal, Decimal, Decimal]:
    day, quantity, cost_local, cost_base, realized_local, realized_base = row
    return (day, Decimal(quantity), Decimal(cost_local), Decimal(cost_base), Decimal(realized_local),
            Decimal(realized_base))


# -- cash and portfolios ---------------------------------------------------------------------

def cash_to_stored(c: CashState) -> Stored:
    return {"portfolio_id": c.portfolio_id, "currency": c.currency, "balance": text(c.balance),
            "movers": c.movers, "seq": c.seq, "applied": c.applied}


def cash_from_stored(d: Stored) -> CashState:
    return CashState(d["portfolio_id"], d["currency"], Decimal(d["balance"]), d["movers"], d["seq"], d["applied"])


def portfolio_to_stored(p: PortfolioState) -> Stored:
    return {"portfolio_id": p.portfolio_id, "definition": p.definition, "securities": p.securities,
            "currencies": p.currencies, "seq": p.seq, "applied": p.applied}


def portfolio_from_stored(d: Stored) -> PortfolioState:
    return PortfolioState(d["portfolio_id"], d["definition"], d["securities"], d["currencies"], d["seq"], d["applied"])


# -- bytes -----------------------------------------------------------------------------------

Record = PortfolioState | TxRecord | PositionState | CashState

_TO_STORED = {PortfolioState: portfolio_to_stored, TxRecord: tx_to_stored,
              PositionState: position_to_stored, CashState: cash_to_stored}

# The positions worker's four tables and what each holds.
FROM_STORED = {"books": portfolio_from_stored, "ledger": tx_from_stored,
               "positions": position_from_stored, "cash": cash_from_stored}
TABLES = tuple(FROM_STORED)


def to_stored(record: Record) -> Stored:
    return _TO_STORED[type(record)](record)


def encode(record: Record) -> bytes:
    return orjson.dumps(_TO_STORED[type(record)](record))


def decode(table: str, raw: bytes | str) -> Record:
    """A table's value (bytes, or the text of the worker's live answer) as its record."""
    return FROM_STORED[table](orjson.loads(raw))
