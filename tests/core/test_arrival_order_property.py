"""For random event streams the ledger gives the figures of an independent model, in any arrival order.

A stream holds several portfolios (USD and EUR base), trades of every type,
amendment chains up to version 5 (cancel, then re-book), exact duplicates
anywhere, lower versions arriving late, transactions rejected for a missing
FX rate (GBP has none, EUR none before 01-02) and cost-method redefinitions
mid-stream. Each stream is booked by the ledger in its own order and in
another order (same-date ties kept: SPEC §2), and both must equal the model of
tests/support/ledger_model.py (written from the SPEC, sharing no code with
core/) on every lot (id, open date, quantity, local and base cost), every
realized P&L and every cash balance, and each other on everything else a user
sees (history, transaction records).
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, replace
from decimal import Decimal
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import day_lots
from core.ledger import apply_transaction, define_portfolio
from core.store import MemoryStore
from core.transaction import TxFields
from tests.core.factories import history
from tests.support.ledger_model import Figures, LedgerModel, figure_differences, model_figures

DATES = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
SECURITIES = ["A", "B"]
METHODS = ["FIFO", "LIFO", "HIFO", "AVCO"]
BASES = {"P1": "USD", "P2": "EUR"}
TYPES = ["BUY", "BUY", "BUY", "SELL", "SELL", "TRANSFER_IN", "TRANSFER_OUT", "SPLIT",
         "DIVIDEND", "INTEREST", "FEE", "TAX", "DEPOSIT", "WITHDRAWAL"]
PRICES = [Decimal(10), Decimal("12.5")]
CASH_TYPES = {"DIVIDEND", "INTEREST", "FEE", "TAX", "DEPOSIT", "WITHDRAWAL"}
# Quoted from 01-02 on (a EUR trade of 01-01 in a USD book has no rate); GBP is never quoted.
RATES = {("EUR", "USD"): {"2024-01-02": Decimal("1.1"), "2024-01-03": Decimal("1.2"), "2024-01-05": Decimal("1.15")},
         ("USD", "EUR"): {"2024-01-02": Decimal("0.9"), "2024-01-04": Decimal("0.8")}}
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fx_lookup(from_ccy: str, to_ccy: str, on: str) -> Decimal | None:
    """Latest rate on or before `on` (the same fixed table for the ledger and the model)."""
    quotes = RATES.get((from_ccy, to_ccy), {})
    days = sorted(quotes)
    i = bisect_right(days, on)
    return quotes[days[i - 1]] if i else None


def definition(pid: str, method: str) -> dict:
    return {"portfolio_id": pid, "name": pid, "base_currency": BASES[pid], "cost_method": method,
            "open_date": DATES[0]}


@st.composite
def transactions(draw, pid: str, tid: str) -> TxFields:
    kind = draw(st.sampled_from(TYPES))
    currency = draw(st.sampled_from(["USD", "EUR", "EUR", "GBP"]))
    fx_rate = draw(st.sampled_from([None, None, None, Decimal("1.3")]))
    quantity = price = amount = None
    if kind == "SPLIT":
        quantity = draw(st.sampled_from([Decimal(2), Decimal("0.5"), Decimal(3)]))
    elif kind in CASH_TYPES:
        amount = Decimal(draw(st.integers(1, 500))) / 4
    else:
        quantity = Decimal(draw(st.integers(1, 60)))
        # Few distinct prices, so that HIFO meets equal unit costs (ties go oldest first).
        price = draw(st.sampled_from(PRICES)) if draw(st.integers(0, 3)) else Decimal(draw(st.integers(1, 300))) / 4
    security = draw(st.sampled_from(SECURITIES)) if kind not in CASH_TYPES or kind == "DIVIDEND" else None
    fees = draw(st.sampled_from([0, 0, 0, 0, 0, 1, 2, 3]))
    return TxFields(tid, pid, 1, "BOOKED", kind, draw(st.sampled_from(DATES)), None, security, quantity, price,
                    amount, Decimal(fees), currency, fx_rate)


@st.composite
def later_versions(draw, first: TxFields) -> list[TxFields]:
    """Versions 2… of a transaction: cancellations, and amendments of date, size, fees or currency."""
    out = []
    for version in range(2, 2 + draw(st.integers(1, 4))):
        if draw(st.integers(0, 2)) == 0:
            out.append(TxFields(first.transaction_id, first.portfolio_id, version, "CANCELLED", None, None, None,
                                None, None, None, None, Decimal(0), None, None))
            continue
        change = draw(st.sampled_from(["trade_date", "quantity", "fees", "currency"]))
        if change == "trade_date":
            amended = replace(first, trade_date=draw(st.sampled_from(DATES)))
        elif change == "quantity" and first.quantity is not None and first.type != "SPLIT":
            amended = replace(first, quantity=first.quantity + draw(st.integers(1, 30)))
        elif change == "currency":
            amended = replace(first, currency=draw(st.sampled_from(["USD", "EUR", "GBP"])))
        else:
            amended = replace(first, fees=first.fees + 1)
        out.append(replace(amended, version=version))
    return out


@st.composite
def streams(draw) -> list[tuple[str, object]]:
    """("define", definition) and ("tx", TxFields) events in one arrival order; the first
    definitions come first (a transaction needs its portfolio)."""
    events: list[tuple[str, object]] = []
    numbers = {pid: 0 for pid in BASES}
    for _ in range(draw(st.integers(4, 24))):
        pid = draw(st.sampled_from(sorted(BASES)))
        numbers[pid] += 1  # ids are unique within a portfolio only: P1 and P2 both have a T1
        events.append(("tx", draw(transactions(pid, f"T{numbers[pid]}"))))
    for i in draw(st.lists(st.integers(0, len(events) - 1), max_size=5, unique=True)):
        events += [("tx", tx) for tx in draw(later_versions(events[i][1]))]
    events += [draw(st.sampled_from(events)) for _ in range(draw(st.integers(0, 4)))]  # exact duplicates
    events += [("define", definition(draw(st.sampled_from(sorted(BASES))), draw(st.sampled_from(METHODS))))
               for _ in range(draw(st.integers(0, 3)))]
    events = draw(st.permutations(events))
    first = [("define", definition(pid, draw(st.sampled_from(METHODS)))) for pid in sorted(BASES)]
    return first + events


def reordered_keeping_ties(events: list, positions: list[int]) -> list:
    """Permute `events`, keeping the relative order of same-date transactions and of definitions."""
    def group(event):
        return "define" if event[0] == "define" else event[1].trade_date

    order = sorted(range(len(events)), key=lambda i: positions[i])
    members: dict[object, list[int]] = {}
    slots: dict[object, list[int]] = {}
    for i, event in enumerate(events):
        members.setdefault(group(event), []).append(i)
    for slot, i in enumerate(order):
        slots.setdefault(group(events[i]), []).append(slot)
    result = [None] * len(events)
    for key, indexes in members.items():
        for slot, i in zip(slots[key], indexes):
            result[slot] = events[i]
    return result


def run_ledger(events: list) -> MemoryStore:
    store = MemoryStore()
    for arrival, (kind, event) in enumerate(events):
        if kind == "define":
            define_portfolio(store, event, arrival)
        else:
            apply_transaction(store, event, arrival, fx_lookup)
    return store


def run_model(events: list) -> LedgerModel:
    model = LedgerModel(fx_lookup)
    for arrival, (kind, event) in enumerate(events):
        if kind == "define":
            model.define(event, arrival)
        else:
            model.apply(asdict(event), arrival)
    return model


def ledger_figures(store: MemoryStore) -> Figures:
    return Figures(
        lots={key: [(lot.transaction_id, lot.open_date, lot.quantity, lot.cost_local, lot.cost_base)
                    for lot in p.lots] for key, p in store.positions.items() if p.lots},
        realized={key: (p.realized_local, p.realized_base) for key, p in store.positions.items()
                  if p.realized_local or p.realized_base},
        cash={key: c.balance for key, c in store.cash.items() if c.movers > 0},
    )


def seen_figures(store: MemoryStore):
    """What a user can see: listed positions with history, listed cash, transaction results."""
    positions = {
        k: (p.listed, [(lot.transaction_id, lot.open_date, lot.quantity, lot.cost_local, lot.cost_base)
                       for lot in p.lots],
            p.realized_local, p.realized_base,
            history(store, *k))
        for k, p in store.positions.items() if p.listed}
    cash = {k: c.balance for k, c in store.cash.items() if c.movers > 0}
    txs = {k: (r.fields, r.fx, r.realized_local, r.realized_base, r.cash) for k, r in store.txs.items()}
    methods = {pid: p.cost_method for pid, p in store.portfolios.items()}
    return positions, cash, txs, methods


def assert_matches_model(events: list, store: MemoryStore) -> None:
    differences = figure_differences(model_figures(run_model(events)), ledger_figures(store))
    assert not differences, "\n".join(differences[:20])


@settings(max_examples=400, **SETTINGS)
@given(streams(), st.data())
def test_any_arrival_order_with_ties_kept_gives_the_models_lots_realized_and_cash(events, data):
    in_order = run_ledger(events)
    assert_matches_model(events, in_order)
    shuffle = data.draw(st.permutations(list(range(len(events) - len(BASES)))))
    other = events[:len(BASES)] + reordered_keeping_ties(events[len(BASES):], shuffle)
    assert seen_figures(run_ledger(other)) == seen_figures(in_order)


@settings(max_examples=120, **SETTINGS)
@given(streams())
def test_publishing_everything_twice_changes_nothing(events):
    once = run_ledger(events)
    twice = run_ledger(events + events)
    assert seen_figures(twice) == seen_figures(once)
    assert_matches_model(events + events, twice)


def kept_lots(store: MemoryStore) -> dict:
    """Which end-of-day states keep their lots, and the lots they keep (arrival offsets aside)."""
    return {key: {day: None if state.lots is None else
                  [(lot.transaction_id, lot.open_date, lot.quantity, lot.cost_local, lot.cost_base)
                   for lot in state.lots] for day, state in held.items()}
            for key, held in store.days.items() if held}


@settings(max_examples=300, **SETTINGS)
@given(streams(), st.data())
def test_with_lots_kept_only_on_a_positions_first_day_of_a_month_any_order_still_gives_the_models_figures(
        events, data):
    """Every replay then starts from the first changed day of the month (core.day_lots), walking back
    over days that keep no lots; the stored days, lots kept or not, are the same in any order."""
    with patch.object(day_lots, "FEW_LOTS", 0):
        in_order = run_ledger(events)
        shuffle = data.draw(st.permutations(list(range(len(events) - len(BASES)))))
        other = run_ledger(events[:len(BASES)] + reordered_keeping_ties(events[len(BASES):], shuffle))
    assert_matches_model(events, in_order)
    assert seen_figures(other) == seen_figures(in_order)
    assert kept_lots(other) == kept_lots(in_order)
