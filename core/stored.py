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
from core.records import CashState, DayState, Entry, PortfolioState, PositionState, TxRecord, TxVersion
from core.transaction import TxFields

SEP = "\x1f"  # unit separator: cannot appear in ids that come from JSON text keys

Stored = dict[str, Any]


def compound_key(*parts: str) -> str:
    return SEP.join(parts)


def portfolio_of_key(key: str) -> str:
    """The portfolio a record of any table belongs to: every key starts with its id."""
    return key.split(SEP, 1)[0]


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


class LotTexts:
    """The stored form of lots already known in this batch, so a lot that did not change (most
    of a position's) or a lot list stored twice (a position and its day) is not encoded again.

    Keyed by object identity, and keeping the object: an id is never mistaken for another's."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[object, list]] = {}

    def decoded(self, rows: list) -> list[Lot]:
        lots = [lot_from_stored(row) for row in rows]
        for lot, row in zip(lots, rows):
            self._known[id(lot)] = (lot, row)
        self._known[id(lots)] = (lots, rows)
        return lots

    def encoded(self, lots: list[Lot]) -> list:
        known = self._known.get(id(lots))
        if known is not None and known[0] is lots:
            return known[1]
        rows = []
        for lot in lots:
            seen = self._known.get(id(lot))
            rows.append(seen[1] if seen is not None and seen[0] is lot else lot_to_stored(lot))
        self._known[id(lots)] = (lots, rows)
        return rows



def _lots_to_stored(lots: list[Lot], texts: LotTexts | None) -> list:
    return texts.encoded(lots) if texts is not None else [lot_to_stored(lot) for lot in lots]


def _lots_from_stored(rows: list, texts: LotTexts | None) -> list[Lot]:
    return texts.decoded(rows) if texts is not None else [lot_from_stored(row) for row in rows]


def position_to_stored(p: PositionState, texts: LotTexts | None = None) -> Stored:
    return {
        "portfolio_id": p.portfolio_id, "security_id": p.security_id, "currency": p.currency,
        "lots": _lots_to_stored(p.lots, texts),
        "quantity": text(p.quantity), "cost_local": text(p.cost_local), "cost_base": text(p.cost_base),
        "realized_local": text(p.realized_local), "realized_base": text(p.realized_base),
        "listed": p.listed, "last_entry": p.last_entry, "history_from": p.history_from,
        "seq": p.seq, "applied": p.applied,
    }


def position_from_stored(d: Stored, texts: LotTexts | None = None) -> PositionState:
    lots = _lots_from_stored(d["lots"], texts)
    legacy_entries = d.get("entries")
    state = PositionState(
        portfolio_id=d["portfolio_id"], security_id=d["security_id"], currency=d["currency"],
        realized_local=Decimal(d["realized_local"]), realized_base=Decimal(d["realized_base"]),
        listed=d["listed"], history_from=d.get("history_from"), seq=d["seq"], applied=d["applied"],
        last_entry=d["last_entry"] if "last_entry" in d else (legacy_entries[-1] if legacy_entries else None),
    )
    if "quantity" in d:  # lots given after construction: the stored totals are taken, not re-summed
        state.lots = lots
        state.quantity, state.cost_local, state.cost_base = (
            Decimal(d["quantity"]), Decimal(d["cost_local"]), Decimal(d["cost_base"]))
    else:
        state.set_lots(lots)
    return state


def legacy_layout(d: Stored) -> tuple[list[Entry], list[DayState]] | None:
    """A position stored before entries and days had tables of their own kept them inline
    ("entries", and "history" rows [date, quantity, cost_local, cost_base, realized_local,
    realized_base]): those, for the store to move into their tables; None for today's layout.
    Such days carry no lots: a replay that would start from one starts from the beginning."""
    if "entries" not in d:
        return None
    pid, sid = d["portfolio_id"], d["security_id"]
    days = [DayState(pid, sid, row[0], None, *(Decimal(v) for v in row[1:]), d["listed"], d["currency"],
                     d["seq"], d["applied"]) for row in d.get("history", ())]
    return [list(e) for e in d["entries"]], days


# -- entries and days: one record per key, in order ------------------------------------------
# An entry's key orders a position's entries as the effective order does (trade date, then
# arrival as 20 digits); a day's key orders its days. `position_range` bounds a position's keys.

def entry_key(portfolio_id: str, security_id: str, entry: Entry) -> str:
    day, arrival, transaction_id = entry
    return compound_key(portfolio_id, security_id, day, f"{arrival:020d}", transaction_id)


def entry_from_key(key: str) -> Entry:
    _, _, day, arrival, transaction_id = key.split(SEP, 4)
    return [day, int(arrival), transaction_id]


def entry_to_stored(applied: int) -> Stored:
    return {"applied": applied}


def day_key(portfolio_id: str, security_id: str, day: str) -> str:
    return compound_key(portfolio_id, security_id, day)


def day_from_key(key: str) -> str:
    return key.split(SEP, 2)[2]


def position_range(portfolio_id: str, security_id: str, since: str | None = None) -> tuple[str, str]:
    """[low, high) of the keys of a position's entries or days dated on or after `since`."""
    prefix = compound_key(portfolio_id, security_id, "")
    return prefix + (since or ""), prefix[:-1] + chr(ord(SEP) + 1)


def day_to_stored(d: DayState, texts: LotTexts | None = None) -> Stored:
    return {
        "portfolio_id": d.portfolio_id, "security_id": d.security_id, "day": d.day,
        "lots": None if d.lots is None else _lots_to_stored(d.lots, texts),
        "quantity": text(d.quantity), "cost_local": text(d.cost_local), "cost_base": text(d.cost_base),
        "realized_local": text(d.realized_local), "realized_base": text(d.realized_base),
        "listed": d.listed, "currency": d.currency, "seq": d.seq, "applied": d.applied,
    }


def day_from_stored(d: Stored, texts: LotTexts | None = None) -> DayState:
    return DayState(
        d["portfolio_id"], d["security_id"], d["day"],
        None if d["lots"] is None else _lots_from_stored(d["lots"], texts),
        Decimal(d["quantity"]), Decimal(d["cost_local"]), Decimal(d["cost_base"]), Decimal(d["realized_local"]),
        Decimal(d["realized_base"]), d["listed"], d["currency"], d["seq"], d["applied"])


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

Record = PortfolioState | TxRecord | PositionState | CashState | DayState

_TO_STORED = {PortfolioState: portfolio_to_stored, TxRecord: tx_to_stored,
              PositionState: position_to_stored, CashState: cash_to_stored, DayState: day_to_stored}

# The positions worker's tables and what each holds (an entry's value is only its
# `applied` offset: the entry itself is its key).
FROM_STORED = {"books": portfolio_from_stored, "ledger": tx_from_stored,
               "positions": position_from_stored, "cash": cash_from_stored,
               "entries": dict, "days": day_from_stored}
TABLES = tuple(FROM_STORED)


def to_stored(record: Record) -> Stored:
    return _TO_STORED[type(record)](record)


def encode(record: Record | Stored, texts: LotTexts | None = None) -> bytes:
    kind = type(record)
    if kind is dict:
        return orjson.dumps(record)
    if kind is PositionState or kind is DayState:
        return orjson.dumps(_TO_STORED[kind](record, texts))
    return orjson.dumps(_TO_STORED[kind](record))


def decode(table: str, raw: bytes | str) -> Record:
    """A table's value (bytes, or the text of the worker's live answer) as its record."""
    return FROM_STORED[table](orjson.loads(raw))
