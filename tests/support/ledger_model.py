"""An independent model of SPEC §2 (lots, cost methods, realized P&L, cash), to check the ledger against.

Deliberately simple and written from the SPEC alone, sharing no code with
core/: exact Fractions, no incremental booking, no rebuild logic. It keeps
only each transaction id's version in effect; the figures are recomputed from
scratch by replaying the effective transactions of each (portfolio, security)
in (trade_date, arrival) order with the portfolio's current cost method. If
the ledger and this model disagree, one of them misreads the SPEC: find out
which before changing either.

Transactions and definitions are plain mappings of the event fields (values
as strings, Decimals or None); `fx_lookup(from, to, trade_date)` answers the
rate a transaction without `fx_rate` is booked at, or None.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

FxLookup = Callable[[str, str, str], Any]
LOT_TYPES = {"BUY", "SELL", "TRANSFER_IN", "TRANSFER_OUT", "SPLIT"}


def exact(value: Any) -> Fraction:
    return Fraction(0) if value is None else Fraction(str(value))


@dataclass(eq=False)  # lots are told apart by identity
class ModelLot:
    transaction_id: str
    open_date: str
    arrival: int
    quantity: Fraction  # negative for a short lot
    cost_local: Fraction  # a short lot: minus its net proceeds
    cost_base: Fraction


@dataclass
class ModelPosition:
    lots: list[ModelLot] = field(default_factory=list)
    realized_local: Fraction = Fraction(0)
    realized_base: Fraction = Fraction(0)
    listed: bool = False  # a BUY, SELL or transfer touched it (a SPLIT alone does not)


@dataclass(frozen=True)
class Effective:
    tx: Mapping[str, Any]
    arrival: int
    fx: Fraction | None


class LedgerModel:
    def __init__(self, fx_lookup: FxLookup) -> None:
        self.fx_lookup = fx_lookup
        self.definitions: dict[str, tuple[int, Mapping[str, Any]]] = {}  # pid → (arrival, definition)
        self.versions: dict[tuple[str, str], int] = {}
        self.effective: dict[tuple[str, str], Effective] = {}

    # --- events ---------------------------------------------------------------

    def define(self, definition: Mapping[str, Any], arrival: int) -> str:
        pid = definition["portfolio_id"]
        if pid in self.definitions and arrival <= self.definitions[pid][0]:
            return "duplicate"
        self.definitions[pid] = (arrival, definition)
        return "applied"

    def apply(self, tx: Mapping[str, Any], arrival: int) -> str:
        """"applied", "duplicate" or the rejection reason."""
        pid, key = tx["portfolio_id"], (tx["portfolio_id"], tx["transaction_id"])
        if pid not in self.definitions:
            return "unknown_portfolio"
        version = int(tx.get("version") or 1)
        if key in self.versions and version <= self.versions[key]:
            return "duplicate"
        booked = (tx.get("status") or "BOOKED") == "BOOKED"
        fx = None
        if booked and tx["type"] != "SPLIT":
            base = self.base_currency(pid)
            if tx.get("fx_rate") is not None:
                fx = exact(tx["fx_rate"])
            elif tx["currency"] == base:
                fx = Fraction(1)
            else:
                rate = self.fx_lookup(tx["currency"], base, tx["trade_date"])
                if rate is None:
                    return "missing_fx_rate"
                fx = exact(rate)
        self.versions[key] = version
        if booked:
            self.effective[key] = Effective(tx, arrival, fx)
        else:
            self.effective.pop(key, None)
        return "applied"

    def base_currency(self, pid: str) -> str:
        return self.definitions[pid][1]["base_currency"]

    def cost_method(self, pid: str) -> str:
        return self.definitions[pid][1].get("cost_method") or "FIFO"

    # --- figures ----------------------------------------------------------------

    def cash(self) -> dict[tuple[str, str], Fraction]:
        """Balance per (portfolio, currency) of every currency an effective transaction moved."""
        balances: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
        for (pid, _), entry in self.effective.items():
            amount = cash_of(entry.tx)
            if amount != 0:
                balances[(pid, entry.tx["currency"])] += amount
        return dict(balances)

    def positions(self) -> dict[tuple[str, str], ModelPosition]:
        by_key: dict[tuple[str, str], list[Effective]] = defaultdict(list)
        for (pid, _), entry in self.effective.items():
            if entry.tx["type"] in LOT_TYPES:
                by_key[(pid, entry.tx["security_id"])].append(entry)
        positions = {}
        for (pid, sid), entries in by_key.items():
            position = ModelPosition()
            for entry in sorted(entries, key=lambda e: (e.tx["trade_date"], e.arrival)):
                book(position, entry, self.cost_method(pid))
            positions[(pid, sid)] = position
        return positions


def cash_of(tx: Mapping[str, Any]) -> Fraction:
    """SPEC: BUY −(q×price+fees); SELL +(q×price−fees); DIVIDEND, INTEREST +amount−fees;
    FEE, TAX −amount; DEPOSIT +amount; WITHDRAWAL −amount; TRANSFER_IN/OUT −fees."""
    kind, fees = tx["type"], exact(tx.get("fees"))
    gross = exact(tx.get("quantity")) * exact(tx.get("price"))
    amount = exact(tx.get("amount"))
    return {
        "BUY": -(gross + fees), "SELL": gross - fees,
        "DIVIDEND": amount - fees, "INTEREST": amount - fees,
        "FEE": -amount, "TAX": -amount, "DEPOSIT": amount, "WITHDRAWAL": -amount,
        "TRANSFER_IN": -fees, "TRANSFER_OUT": -fees,
    }.get(kind, Fraction(0))


class FxQuotes:
    """FX rates as SPEC §1–2 read them: the latest quote on or before a date; the inverse pair
    derived per date (the more recent date wins, the direct quote on a tie); no cross rates."""

    def __init__(self) -> None:
        self.quotes: dict[tuple[str, str], dict[str, Fraction]] = defaultdict(dict)

    def put(self, from_ccy: str, to_ccy: str, day: str, rate: Any) -> None:
        self.quotes[(from_ccy, to_ccy)][day] = exact(rate)  # a later event for the date corrects it

    def _latest(self, pair: tuple[str, str], on: str) -> tuple[str, Fraction] | None:
        days = [day for day in self.quotes.get(pair, {}) if day <= on]
        return (max(days), self.quotes[pair][max(days)]) if days else None

    def __call__(self, from_ccy: str, to_ccy: str, on: str) -> Fraction | None:
        if from_ccy == to_ccy:
            return Fraction(1)
        direct, inverse = self._latest((from_ccy, to_ccy), on), self._latest((to_ccy, from_ccy), on)
        if direct and (not inverse or direct[0] >= inverse[0]):
            return direct[1]
        return 1 / inverse[1] if inverse else None


def replay_events(events: list[Mapping[str, Any]]) -> tuple[LedgerModel, FxQuotes]:
    """The model of `{"topic", "key", "value"}` events published the recommended way:
    portfolios and FX rates first, then the transactions in their order."""
    fx = FxQuotes()
    model = LedgerModel(fx)
    for arrival, event in enumerate(events):
        value = event["value"]
        if event["topic"] == "portfolios":
            model.define(value, arrival)
        elif event["topic"] == "fx_rates":
            fx.put(value["from_currency"], value["to_currency"], value["rate_date"], value["rate"])
    for arrival, event in enumerate(events, start=len(events)):
        if event["topic"] == "transactions":
            model.apply(event["value"], arrival)
    return model, fx


# --- booking one transaction onto a position ------------------------------------------

def book(position: ModelPosition, entry: Effective, method: str) -> None:
    tx, fx = entry.tx, entry.fx if entry.fx is not None else Fraction(1)
    kind, q, price = tx["type"], exact(tx.get("quantity")), exact(tx.get("price"))
    if kind == "SPLIT":
        for lot in position.lots:
            lot.quantity *= q
        return
    position.listed = True
    buying = kind in ("BUY", "TRANSFER_IN")
    # What the trade is worth in total: BUY q×price+fees, SELL q×price−fees, transfers q×price.
    value = {"BUY": q * price + exact(tx.get("fees")), "SELL": q * price - exact(tx.get("fees"))}.get(kind, q * price)
    held = sum((lot.quantity for lot in position.lots), Fraction(0))
    against = -held if buying and held < 0 else (held if not buying and held > 0 else Fraction(0))
    closing = min(q, against)
    if closing > 0:
        part = value * closing / q  # price and fees split pro rata by quantity
        relieved_local, relieved_base = relieve(position, closing, method)
        if kind == "BUY":  # covering shorts: short proceeds − buy cost
            position.realized_local += -relieved_local - part
            position.realized_base += -relieved_base - part * fx
        elif kind == "SELL":
            position.realized_local += part - relieved_local
            position.realized_base += part * fx - relieved_base
    rest = q - closing
    if rest > 0:
        cost = value * rest / q
        sign = 1 if buying else -1
        open_lot(position, ModelLot(tx["transaction_id"], tx["trade_date"], entry.arrival,
                                    sign * rest, sign * cost, sign * cost * fx), method)


def open_lot(position: ModelPosition, lot: ModelLot, method: str) -> None:
    if method == "AVCO" and position.lots:  # one pooled lot per side, dated at its first opening
        pool = position.lots[0]
        pool.quantity += lot.quantity
        pool.cost_local += lot.cost_local
        pool.cost_base += lot.cost_base
    else:
        position.lots.append(lot)  # lots are opened in (trade_date, arrival) order


def relieve(position: ModelPosition, units: Fraction, method: str) -> tuple[Fraction, Fraction]:
    """Take `units` off the open lots in the method's order; the relieved (cost_local, cost_base)."""
    oldest_first = list(position.lots)
    order = {
        "FIFO": oldest_first,
        "AVCO": oldest_first,  # a single pooled lot
        "LIFO": oldest_first[::-1],
        # Highest local unit cost first, ties oldest first (sorted() is stable).
        "HIFO": sorted(oldest_first, key=lambda lot: lot.cost_local / lot.quantity, reverse=True),
    }[method]
    relieved_local = relieved_base = Fraction(0)
    for lot in order:
        if units == 0:
            break
        size = abs(lot.quantity)
        take = min(units, size)
        share_local, share_base = lot.cost_local * take / size, lot.cost_base * take / size
        relieved_local += share_local
        relieved_base += share_base
        units -= take
        if take == size:
            position.lots = [other for other in position.lots if other is not lot]
        else:
            lot.quantity -= take if lot.quantity > 0 else -take
            lot.cost_local -= share_local
            lot.cost_base -= share_base
    return relieved_local, relieved_base


# --- comparing figures ------------------------------------------------------------------------

LotRow = tuple[str, str, Any, Any, Any]  # transaction_id, open_date, quantity, cost_local, cost_base


@dataclass
class Figures:
    """Figures in a plain shape any source can be put in (the model, a store, API answers)."""

    lots: dict[tuple[str, str], list[LotRow]]  # (portfolio, security) → open lots
    realized: dict[tuple[str, str], tuple[Any, Any]]  # (portfolio, security) → (local, base)
    cash: dict[tuple[str, str], Any]  # (portfolio, currency) → balance


def model_figures(model: LedgerModel) -> Figures:
    positions = model.positions()
    return Figures(
        lots={key: [(lot.transaction_id, lot.open_date, lot.quantity, lot.cost_local, lot.cost_base)
                    for lot in p.lots] for key, p in positions.items() if p.lots},
        realized={key: (p.realized_local, p.realized_base) for key, p in positions.items()
                  if p.realized_local or p.realized_base},
        cash=model.cash(),
    )


def figure_differences(expected: Figures, actual: Figures, tolerance: Fraction = Fraction(1, 10**9),
                       lot_ids: bool = True) -> list[str]:
    """Every figure of `actual` that is not `expected` within `tolerance`; a key missing on one
    side counts as a difference (zero realized P&L and empty lots may be left out by either).
    `lot_ids=False` compares lots without their transaction ids."""
    out: list[str] = []

    def close(a: Any, b: Any) -> bool:
        return abs(exact(a) - exact(b)) <= tolerance

    def rows(lots: list[LotRow]) -> list[LotRow]:
        return sorted((tid if lot_ids else "", str(day), q, cl, cb) for tid, day, q, cl, cb in lots)

    for key in sorted(expected.lots.keys() | actual.lots.keys()):
        want, got = rows(expected.lots.get(key, [])), rows(actual.lots.get(key, []))
        if len(want) != len(got) or any(w[:2] != g[:2] or not all(map(close, w[2:], g[2:]))
                                        for w, g in zip(want, got)):
            out.append(f"lots {key}: expected {_show(want)}, got {_show(got)}")
    for key in sorted(expected.realized.keys() | actual.realized.keys()):
        want, got = expected.realized.get(key, (0, 0)), actual.realized.get(key, (0, 0))
        if not all(map(close, want, got)):
            out.append(f"realized {key}: expected {_show(want)}, got {_show(got)}")
    for key in sorted(expected.cash.keys() | actual.cash.keys()):
        if key not in expected.cash or key not in actual.cash:
            out.append(f"cash {key}: expected {_show(expected.cash.get(key))}, got {_show(actual.cash.get(key))}")
        elif not close(expected.cash[key], actual.cash[key]):
            out.append(f"cash {key}: expected {_show(expected.cash[key])}, got {_show(actual.cash[key])}")
    return out


def _show(value: Any) -> str:
    if isinstance(value, Fraction):
        return f"{float(value):.10g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
