"""For random event sets, the arrival order (same-date ties kept) never changes a figure."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ledger import apply_transaction, define_portfolio
from core.store import MemoryStore
from core.transaction import TxFields

DATES = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
SECURITIES = ["A", "B"]


def _tx(tid, version, type_, date, sec, qty, price, ccy, fees, status="BOOKED"):
    fx = None if ccy == "USD" else Decimal("1.1") + Decimal(DATES.index(date)) / 10
    amount = qty * price if type_ in ("DIVIDEND", "DEPOSIT", "FEE") else None
    return TxFields(tid, "P", version, status, type_, date, None, sec,
                    None if amount is not None else qty, None if amount is not None else price,
                    amount, fees, ccy, fx)


@st.composite
def event_sets(draw):
    n = draw(st.integers(3, 14))
    events = []
    for i in range(n):
        type_ = draw(st.sampled_from(["BUY", "BUY", "SELL", "SELL", "TRANSFER_IN", "TRANSFER_OUT",
                                      "SPLIT", "DIVIDEND", "DEPOSIT", "FEE"]))
        qty = Decimal(draw(st.integers(1, 60)))
        if type_ == "SPLIT":
            qty = draw(st.sampled_from([Decimal(2), Decimal("0.5"), Decimal(3)]))
        events.append(_tx(f"T{i}", 1, type_, draw(st.sampled_from(DATES)), draw(st.sampled_from(SECURITIES)),
                          qty, Decimal(draw(st.integers(1, 300))) / 4, draw(st.sampled_from(["USD", "EUR"])),
                          Decimal(draw(st.integers(0, 3)))))
    # Amendments and cancellations of some of them, as later versions.
    for i in draw(st.lists(st.integers(0, n - 1), max_size=4, unique=True)):
        base = events[i]
        if draw(st.booleans()):
            events.append(TxFields(base.transaction_id, "P", 2, "CANCELLED", None, None, None, None,
                                   None, None, None, Decimal(0), None, None))
        else:
            events.append(TxFields(base.transaction_id, "P", 2, "BOOKED", base.type,
                                   draw(st.sampled_from(DATES)), None, base.security_id, base.quantity,
                                   base.price, base.amount, base.fees + 1, base.currency, base.fx_rate))
    return events


def _order_keeping_ties(events, shuffled_positions):
    """Permute `events`, keeping the relative order of same-date events."""
    order = sorted(range(len(events)), key=lambda i: shuffled_positions[i])
    by_date: dict[str | None, list[int]] = {}
    for i in range(len(events)):
        by_date.setdefault(events[i].trade_date, []).append(i)
    slots: dict[str | None, list[int]] = {}
    for pos, i in enumerate(order):
        slots.setdefault(events[i].trade_date, []).append(pos)
    result = [None] * len(events)
    for date, members in by_date.items():
        for pos, i in zip(slots[date], members):
            result[pos] = events[i]
    return result


def _run(events, repeat=1, method="FIFO"):
    store = MemoryStore()
    define_portfolio(store, {"portfolio_id": "P", "name": "P", "base_currency": "USD",
                             "cost_method": method, "open_date": "2024-01-01"}, 0)
    arrival = 0
    for _ in range(repeat):
        for tx in events:
            arrival += 1
            apply_transaction(store, tx, arrival, lambda *a: None)
    return store


def _figures(store: MemoryStore):
    """What a user can see: listed positions, listed cash, transaction results."""
    positions = {
        k: (p.listed, [(lot.transaction_id, lot.quantity, lot.cost_local, lot.cost_base) for lot in p.lots],
            p.realized_local, p.realized_base,
            [[Decimal(v) if i else v for i, v in enumerate(row)] for row in p.history])
        for k, p in store.positions.items() if p.listed}
    cash = {k: c.balance for k, c in store.cash.items() if c.movers > 0}
    txs = {k: (r.fields.version, r.fields.status, r.realized_local, r.realized_base, r.cash)
           for k, r in store.txs.items()}
    return positions, cash, txs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_sets(), st.data())
def test_every_arrival_order_with_ties_kept_gives_identical_positions_lots_and_cash(events, data):
    method = data.draw(st.sampled_from(["FIFO", "LIFO", "HIFO", "AVCO"]))
    baseline = _figures(_run(events, method=method))
    positions = data.draw(st.permutations(list(range(len(events)))))
    reordered = _order_keeping_ties(events, positions)
    assert _figures(_run(reordered, method=method)) == baseline


@settings(max_examples=150, deadline=None)
@given(event_sets(), st.sampled_from(["FIFO", "LIFO", "HIFO", "AVCO"]))
def test_publishing_everything_twice_changes_nothing(events, method):
    assert _figures(_run(events, repeat=2, method=method)) == _figures(_run(events, method=method))
