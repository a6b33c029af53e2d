"""Changelog and reference records → the rows the sink writes. Pure functions."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import orjson

from schemas.events import DeadLetter


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def portfolio_row(state: dict[str, Any]) -> tuple:
    d = state["definition"]
    return (state["portfolio_id"], d["name"], d["base_currency"], d.get("cost_method") or "FIFO",
            _date(d["open_date"]), d.get("benchmark_id"), orjson.dumps(state["securities"]).decode(),
            orjson.dumps(state["currencies"]).decode(), state["applied"], state["seq"])


def transaction_row(state: dict[str, Any]) -> tuple:
    f = state["fields"]
    return (f["portfolio_id"], f["transaction_id"], f["version"], f["status"], f["type"],
            _date(f["trade_date"]), _date(f.get("settlement_date")), f.get("security_id"),
            _d(f.get("quantity")), _d(f.get("price")), _d(f.get("amount")), _d(f.get("fees")),
            f.get("currency"), _d(f.get("fx_rate")), _d(state["fx"]), state["arrival"],
            Decimal(state["realized_local"]), Decimal(state["realized_base"]),
            orjson.dumps(state["cash"]).decode(), state["seq"])


def transaction_version_row(state: dict[str, Any]) -> tuple:
    """One version of a transaction (transaction_versions), guarded by the ledger's seq: a
    ledger state, or one of its `superseded` entries (the same fields, arrival and seq)."""
    f = state["fields"]
    return (f["portfolio_id"], f["transaction_id"], f["version"], f["status"], f["type"],
            _date(f["trade_date"]), f.get("security_id"), _d(f.get("quantity")), _d(f.get("price")),
            _d(f.get("amount")), _d(f.get("fees")), f.get("currency"), state["arrival"], state["seq"])


def letter_transaction(row: tuple) -> tuple[str, str, int | None] | None:
    """(portfolio_id, transaction_id, version or None if unreadable) a `transactions` letter
    names, from its stored row (`dead_letter_row`: text already fit for PostgreSQL)."""
    topic, key, raw, transaction_id, raw_encoding, key_encoding = row[0], row[3], row[4], row[7], row[10], row[14]
    if topic != "transactions" or not transaction_id or not key or key_encoding != "utf-8":
        return None
    try:
        version = orjson.loads(raw).get("version", 1) if raw_encoding == "utf-8" else None
    except (orjson.JSONDecodeError, AttributeError):
        version = None
    return (key, transaction_id, version if type(version) is int else None)


def cash_row(state: dict[str, Any]) -> tuple:
    return (state["portfolio_id"], state["currency"], Decimal(state["balance"]), state["movers"], state["seq"])


@dataclass
class PositionChange:
    """The latest state of one position in a batch, and how much history it rewrote."""

    state: dict[str, Any]
    first_seq: int
    history_from: str | None
    contiguous: bool = True

    def merge(self, newer: dict[str, Any]) -> None:
        self.contiguous = self.contiguous and newer["seq"] == self.state["seq"] + 1
        froms = [f for f in (self.history_from, newer["history_from"]) if f is not None]
        self.history_from = min(froms) if froms else None
        self.state = newer

    @property
    def key(self) -> tuple[str, str]:
        return (self.state["portfolio_id"], self.state["security_id"])

    def position_row(self) -> tuple:
        s = self.state
        qty = sum((Decimal(lot[3]) for lot in s["lots"]), Decimal(0))
        cost_l = sum((Decimal(lot[4]) for lot in s["lots"]), Decimal(0))
        cost_b = sum((Decimal(lot[5]) for lot in s["lots"]), Decimal(0))
        return (s["portfolio_id"], s["security_id"], s["currency"], qty, cost_l, cost_b,
                Decimal(s["realized_local"]), Decimal(s["realized_base"]), s["listed"], s["seq"])

    def lot_rows(self) -> list[tuple]:
        s = self.state
        return [(s["portfolio_id"], s["security_id"], t, _date(o), a, Decimal(q), Decimal(cl), Decimal(cb))
                for t, o, a, q, cl, cb in s["lots"]]

    def history_rows(self, since: str | None) -> list[tuple]:
        s = self.state
        return [(s["portfolio_id"], s["security_id"], _date(row[0]), *(Decimal(v) for v in row[1:]))
                for row in s["history"] if since is None or row[0] >= since]


@dataclass
class Batch:
    portfolios: dict[str, tuple] = field(default_factory=dict)
    transactions: dict[tuple[str, str], tuple] = field(default_factory=dict)
    cash: dict[tuple[str, str], tuple] = field(default_factory=dict)
    positions: dict[tuple[str, str], PositionChange] = field(default_factory=dict)
    instruments: dict[str, tuple] = field(default_factory=dict)
    prices: dict[tuple, tuple] = field(default_factory=dict)
    fx_rates: dict[tuple, tuple] = field(default_factory=dict)
    dead_letters: dict[tuple, tuple] = field(default_factory=dict)
    transaction_versions: dict[tuple[str, str, int], tuple] = field(default_factory=dict)
    # Not rows of their own: what the batch tells about ingest receipts and
    # redriven dead letters (sink.dead_letter_lifecycle).
    letter_transactions: list[tuple[str, str, int | None]] = field(default_factory=list)
    reference_sources: list[tuple[str, int, int]] = field(default_factory=list)

    def add_position(self, state: dict[str, Any]) -> None:
        key = (state["portfolio_id"], state["security_id"])
        change = self.positions.get(key)
        if change is None:
            self.positions[key] = PositionChange(state, state["seq"], state["history_from"])
        elif state["seq"] > change.state["seq"]:
            change.merge(state)

    def add_transaction_versions(self, state: dict[str, Any]) -> None:
        """The ledger state's version and those it superseded (a batch of the
        worker may have applied several, and only the last reaches the changelog)."""
        for version in (*state.get("superseded", ()), state):
            f = version["fields"]
            key = (f["portfolio_id"], f["transaction_id"], f["version"])
            known = self.transaction_versions.get(key)
            if known is None or version["seq"] > known[-1]:
                self.transaction_versions[key] = transaction_version_row(version)

    def __len__(self) -> int:
        return sum(len(getattr(self, n)) for n in self.__dataclass_fields__ if n not in _NOT_ROWS)


_NOT_ROWS = {"letter_transactions", "reference_sources"}


def dead_letter_row(value: dict[str, Any]) -> tuple:
    """A `dead_letters` row; raises (ValueError) for a value that is not a dead letter."""
    d = DeadLetter.model_validate(value)
    return (d.source_topic, -1 if d.partition is None else d.partition, -1 if d.offset is None else d.offset,
            d.key, d.raw_value, d.reason, d.field, d.transaction_id, d.detail, d.dead_lettered_at,
            d.raw_encoding, d.raw_size, d.raw_sha256, d.raw_truncated, d.key_encoding)
