"""The ledger over `TableLedgerStore`: state round-trips through the key-value tables.

One ledger sequence (buys, a back-dated sell crossing into a short, an amendment, a
cancellation, cash transactions, a foreign-currency key rebuilt after an FX correction, a
replayed duplicate, a rejected event and a cost-method change) is run step by step. After
each step the store's `changes()` are written to the KeyValues and the next step starts a
NEW `TableLedgerStore` over them, so every figure has to survive encoding and decoding.
The run is repeated over `DictKeyValue` and over real RocksDB databases (`rocksdict`, raw
mode, as Faust opens them), and compared with the same sequence on a `MemoryStore` and
with figures worked out by hand.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest
from rocksdict import Options, Rdict

from core.fx import FxBook
from core.ledger import apply_transaction, define_portfolio
from core.store import MemoryStore
from core.stored import to_stored
from streams.table_store import TABLES, DictKeyValue, RocksKeyValue, TableLedgerStore
from tests.core.factories import D, cancel, make_tx

DEFINITION = {"portfolio_id": "P1", "name": "Round trip", "base_currency": "USD",
              "cost_method": "FIFO", "open_date": "2024-01-01"}

D1 = make_tx("DEPOSIT", amount=10000, security=None, trade_date="2024-01-02", transaction_id="D1")
B1 = make_tx("BUY", security="A", quantity=100, price=10, fees=5, trade_date="2024-01-03", transaction_id="B1")
B2 = make_tx("BUY", security="A", quantity=50, price=12, trade_date="2024-01-05", transaction_id="B2")
S1 = make_tx("SELL", security="A", quantity=120, price=15, fees=6, trade_date="2024-01-04", transaction_id="S1")
B1_V2 = replace(B1, version=2, quantity=D(110))
E1 = make_tx("BUY", security="B", quantity=20, price=50, fees=10, currency="EUR", trade_date="2024-01-04",
             transaction_id="E1")
V1 = make_tx("DIVIDEND", security="A", amount=30, fees=3, trade_date="2024-01-06", transaction_id="V1")
F1 = make_tx("FEE", security=None, amount=7, trade_date="2024-01-06", transaction_id="F1")
G1 = make_tx("DEPOSIT", security=None, amount=50, currency="GBP", trade_date="2024-01-06", transaction_id="G1")
E2 = make_tx("BUY", security="B", quantity=10, price=40, currency="EUR", fx_rate="1.2", trade_date="2024-01-03",
             transaction_id="E2")
S2 = make_tx("SELL", security="B", quantity=15, price=60, currency="EUR", trade_date="2024-01-09",
             transaction_id="S2")

Step = Callable[[object, FxBook, int], object]


def _define(definition):
    def step(store, fx, arrival):
        return define_portfolio(store, definition, arrival)
    return step


def _tx(tx):
    def step(store, fx, arrival):
        return apply_transaction(store, tx, arrival, fx.rate)
    return step


def _fx_then_tx(quotes, tx):
    def step(store, fx, arrival):
        for q in quotes:
            fx.put(*q)
        return apply_transaction(store, tx, arrival, fx.rate)
    return step


# Arrival = index.  Hand calculation, FIFO until step 13:
STEPS: list[Step] = [
    _define(DEFINITION),                                                    # 0
    _fx_then_tx([("EUR", "USD", "2024-01-02", D("1.10")),
                 ("EUR", "USD", "2024-01-08", D("1.30"))], D1),             # 1  USD +10000
    _tx(B1),      # 2  A: 100 @ 10 + 5 = 1005                                   USD −1005
    _tx(B2),      # 3  A: 50 @ 12 = 600                                         USD −600
    _tx(S1),      # 4  back-dated 01-04, between B1 and B2: proceeds 1800 − 6 = 1794, USD +1794
    #                share for 100 held 1794 × 100/120 = 1495 → 490; short −20 at −299;
    #                B2 covers 20: 600 × 20/50 = 240 → 299 − 240 = 59; long 30 / 360
    _tx(B1_V2),   # 5  B1 → 110 units = 1105 (USD −100 more): S1 share 1794 × 110/120 = 1644.5
    #                → 539.5; short −10 at −149.5; B2 covers 10: 120 → 29.5; long 40 / 480
    _tx(E1),      # 6  B: 20 @ 50 + 10 = 1010 EUR at looked-up fx(01-04) = 1.10 → 1111 USD; EUR −1010
    _tx(V1),      # 7  USD +27 (income, not realized)
    _tx(F1),      # 8  USD −7
    _tx(cancel(B2, 2)),  # 9  A: B1, S1 only → short −10 at −149.5, realized 539.5; USD +600
    _fx_then_tx([("EUR", "USD", "2024-01-02", D("1.50"))], E2),
    #             10 FX correction of 01-02 to 1.50, then back-dated E2 10 @ 40 = 400 EUR at its own
    #                fx 1.2 → 480 USD.  Rebuild of B: E1 keeps its kept rate 1.10 (1111), EUR −400
    _tx(B1),      # 11 v1 replayed after v2: duplicate, nothing written
    _tx(G1),      # 12 GBP with no GBP rate: rejected, nothing written
    _tx(S2),      # 13 B: SELL 15 @ 60 = 900 EUR at fx(01-09) = 1.30 → 1170 USD; EUR +900
    #                FIFO: E2 10 (400 / 480) + E1 5 (1010 × 5/20 = 252.5 / 1111 × 5/20 = 277.75)
    #                → realized 900 − 652.5 = 247.5;  1170 − 757.75 = 412.25
    _define({**DEFINITION, "cost_method": "LIFO"}),
    #             14 LIFO re-books history.  A unchanged (one buy, one sell).  B: S2 relieves E1
    #                15 of 20: 1010 × 15/20 = 757.5 / 1111 × 15/20 = 833.25
    #                → realized 900 − 757.5 = 142.5;  1170 − 833.25 = 336.75
]

EXPECTED_OUTCOMES = ["Applied"] * 11 + ["Duplicate", "Rejected", "Applied", "Applied"]

EXPECTED = {
    "portfolio": ("LIFO", ["A", "B"], ["EUR", "USD"]),
    "positions": {
        "A": {
            "listed": True,
            "lots": [("S1", "2024-01-04", D(-10), D("-149.5"), D("-149.5"))],
            "realized": (D("539.5"), D("539.5")),
            "history": [
                ("2024-01-03", D(110), D(1105), D(1105), D(0), D(0)),
                ("2024-01-04", D(-10), D("-149.5"), D("-149.5"), D("539.5"), D("539.5")),
            ],
        },
        "B": {
            "listed": True,
            "lots": [("E2", "2024-01-03", D(10), D(400), D(480)),       # untouched by LIFO
                     ("E1", "2024-01-04", D(5), D("252.5"), D("277.75"))],  # 1010 − 757.5, 1111 − 833.25
            "realized": (D("142.5"), D("336.75")),
            "history": [
                ("2024-01-03", D(10), D(400), D(480), D(0), D(0)),
                ("2024-01-04", D(30), D(1410), D(1591), D(0), D(0)),       # 400 + 1010, 480 + 1111
                ("2024-01-09", D(15), D("652.5"), D("757.75"), D("142.5"), D("336.75")),
            ],
        },
    },
    # USD: 10000 − 1105 + 1794 + 27 − 7 = 10709 (B2 cancelled), movers D1 B1 S1 V1 F1.
    # EUR: −1010 − 400 + 900 = −510, movers E1 E2 S2.
    "cash": {"USD": (D(10709), 5), "EUR": (D(-510), 3), "GBP": None},
    # (version, status, fx, realized_local, realized_base, cash)
    "txs": {
        "D1": (1, "BOOKED", D(1), D(0), D(0), {"USD": D(10000)}),
        "B1": (2, "BOOKED", D(1), D(0), D(0), {"USD": D(-1105)}),
        "B2": (2, "CANCELLED", None, D(0), D(0), {}),
        "S1": (1, "BOOKED", D(1), D("539.5"), D("539.5"), {"USD": D(1794)}),
        "E1": (1, "BOOKED", D("1.10"), D(0), D(0), {"EUR": D(-1010)}),
        "V1": (1, "BOOKED", D(1), D(0), D(0), {"USD": D(27)}),
        "F1": (1, "BOOKED", D(1), D(0), D(0), {"USD": D(-7)}),
        "E2": (1, "BOOKED", D("1.2"), D(0), D(0), {"EUR": D(-400)}),
        "S2": (1, "BOOKED", D("1.30"), D("142.5"), D("336.75"), {"EUR": D(900)}),
        "G1": None,
    },
}


def figures(store) -> dict:
    """What the store holds, read only through the LedgerStore interface."""
    portfolio = store.get_portfolio("P1")
    positions = {}
    for sid in ("A", "B"):
        p = store.get_position("P1", sid)
        positions[sid] = {
            "listed": p.listed,
            "lots": [(lot.transaction_id, lot.open_date, lot.quantity, lot.cost_local, lot.cost_base)
                     for lot in p.lots],
            "realized": (p.realized_local, p.realized_base),
            "history": [(row[0], *(Decimal(v) for v in row[1:])) for row in p.history],
        }
    cash = {}
    for ccy in ("USD", "EUR", "GBP"):
        c = store.get_cash("P1", ccy)
        cash[ccy] = None if c is None else (c.balance, c.movers)
    txs = {}
    for tid in EXPECTED["txs"]:
        r = store.get_tx("P1", tid)
        txs[tid] = None if r is None else (r.fields.version, r.fields.status, r.fx, r.realized_local,
                                           r.realized_base, r.cash)
    return {"portfolio": (portfolio.cost_method, sorted(portfolio.securities), sorted(portfolio.currencies)),
            "positions": positions, "cash": cash, "txs": txs}


class DictBackend:
    def __init__(self, tmp_path):
        self.kvs = {name: DictKeyValue() for name in TABLES}

    def reopen(self):
        pass

    def close(self):
        pass

    def contents(self):
        return {name: dict(kv.data) for name, kv in self.kvs.items()}


class RocksBackend:
    def __init__(self, tmp_path):
        self.paths = {name: str(tmp_path / name) for name in TABLES}
        self.dbs: dict[str, Rdict] = {}
        self.kvs: dict[str, RocksKeyValue] = {}
        self._open()

    def _open(self):
        self.dbs = {name: Rdict(path, options=Options(raw_mode=True)) for name, path in self.paths.items()}
        self.kvs = {name: RocksKeyValue(db) for name, db in self.dbs.items()}

    def reopen(self):
        self.close()
        self._open()

    def close(self):
        for db in self.dbs.values():
            db.close()
        self.dbs = {}

    def contents(self):
        return {name: dict(db.items()) for name, db in self.dbs.items()}


@pytest.fixture(params=[DictBackend, RocksBackend], ids=["dict", "rocksdb"])
def backend(request, tmp_path):
    made = request.param(tmp_path)
    yield made
    made.close()


def run_through_tables(backend) -> tuple[list[str], list[dict]]:
    fx = FxBook()
    outcomes, written = [], []
    for arrival, step in enumerate(STEPS):
        store = TableLedgerStore(backend.kvs)  # a fresh store each step: state only via the tables
        outcomes.append(type(step(store, fx, arrival)).__name__)
        changes = store.changes()
        written.append(changes)
        for name, items in changes.items():
            backend.kvs[name].write(items)
    return outcomes, written


def run_in_memory() -> tuple[list[str], MemoryStore]:
    store, fx = MemoryStore(), FxBook()
    outcomes = [type(step(store, fx, arrival)).__name__ for arrival, step in enumerate(STEPS)]
    return outcomes, store


def test_memory_store_run_matches_the_hand_calculation():
    outcomes, store = run_in_memory()
    assert outcomes == EXPECTED_OUTCOMES
    assert figures(store) == EXPECTED


def test_ledger_state_round_trips_through_the_tables_to_the_hand_calculated_figures(backend):
    outcomes, _ = run_through_tables(backend)
    assert outcomes == EXPECTED_OUTCOMES
    backend.reopen()  # RocksDB: closed and opened again, so the figures come from disk
    assert figures(TableLedgerStore(backend.kvs)) == EXPECTED


def test_table_backed_figures_equal_the_memory_store_figures_exactly(backend):
    run_through_tables(backend)
    _, memory = run_in_memory()
    assert figures(TableLedgerStore(backend.kvs)) == figures(memory)
    # Not just equal in value: every stored record encodes to the same dict as the memory one.
    table = TableLedgerStore(backend.kvs)
    for (pid, tid), record in memory.txs.items():
        assert to_stored(table.get_tx(pid, tid)) == to_stored(record)
    for (pid, sid), position in memory.positions.items():
        assert to_stored(table.get_position(pid, sid)) == to_stored(position)
    for (pid, ccy), cash in memory.cash.items():
        assert to_stored(table.get_cash(pid, ccy)) == to_stored(cash)
    assert to_stored(table.get_portfolio("P1")) == to_stored(memory.get_portfolio("P1"))


def test_a_duplicate_or_a_rejected_event_writes_nothing(backend):
    outcomes, written = run_through_tables(backend)
    assert outcomes[11] == "Duplicate" and written[11] == {}
    assert outcomes[12] == "Rejected" and written[12] == {}


def test_only_the_tables_a_step_touched_are_written():
    # The FEE (step 8) moves cash only: the ledger record and the cash row, no position, no book.
    outcomes, written = run_through_tables(DictBackend(None))
    assert set(written[8]) == {"ledger", "cash"}
    # The back-dated sell (step 4) rewrites the ledger (S1 and B2's realized), A and USD cash.
    assert set(written[4]) == {"ledger", "positions", "cash"}


def test_dict_and_rocksdb_tables_hold_byte_identical_records(tmp_path):
    by_dict, by_rocks = DictBackend(tmp_path / "d"), RocksBackend(tmp_path / "r")
    try:
        run_through_tables(by_dict)
        run_through_tables(by_rocks)
        assert by_rocks.contents() == by_dict.contents()
    finally:
        by_rocks.close()

