"""Cost lots: relief order per cost method, AVCO pooling, pro-rata splits and scaling.

Every expected figure is worked out by hand in the comment beside it.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from core.lots import Lot, held, open_lot, relieve_lots, scale_lots
from tests.core.factories import D, Book, lot_rows, make_tx


def lot(tid, date, arrival, qty, cost_local, cost_base=None):
    return Lot(tid, date, arrival, D(qty), D(cost_local), D(cost_base if cost_base is not None else cost_local))


# --- HIFO -------------------------------------------------------------------

def test_hifo_relieves_the_lot_with_the_highest_unit_cost_counting_its_fees_first():
    # A: 10 @ 10 + fees 30 → cost 130, unit 13.  B: 10 @ 12, no fees → cost 120, unit 12.
    # By price alone B would go first; with fees A (13 > 12) goes first.
    # SELL 10 @ 15 → proceeds 150 − relieved 130 = realized 20; B (10, 120) stays.
    book = Book(method="HIFO")
    a = make_tx("BUY", quantity=10, price=10, fees=30, trade_date="2024-01-02", transaction_id="A")
    b = make_tx("BUY", quantity=10, price=12, trade_date="2024-01-03", transaction_id="B")
    sell = make_tx("SELL", quantity=10, price=15, trade_date="2024-01-04")
    for tx in (a, b, sell):
        book.apply(tx)
    assert book.tx(sell).realized_local == D(20)  # 150 − 130
    assert lot_rows(book.position()) == [("B", "2024-01-03", D(10), D(120), D(120))]


def test_hifo_breaks_unit_cost_ties_by_oldest_trade_date_then_arrival():
    # Unit costs: C 100/10 = 10, A 40/4 = 10, B 80/8 = 10 → all tied.
    # Oldest by (open_date, arrival): B (01-01, 2), then A (01-01, 3), then C (01-03, 1).
    # Relieve 10: B whole (8 units, 80) + 2 of A (40 × 2/4 = 20) → 100; A keeps 2 units at 40 − 20 = 20.
    lots = [lot("C", "2024-01-03", 1, 10, 100),
            lot("A", "2024-01-01", 3, 4, 40),
            lot("B", "2024-01-01", 2, 8, 80)]
    relief = relieve_lots(lots, D(10), "HIFO")
    assert relief.cost_local == D(100)  # 80 + 20
    assert relief.quantity == D(10)
    assert [(x.transaction_id, x.quantity, x.cost_local) for x in relief.remaining] == [
        ("C", D(10), D(100)),  # untouched
        ("A", D(2), D(20)),    # 4 − 2 units, 40 − 20
    ]


def test_hifo_orders_by_unit_cost_not_by_total_cost_or_age():
    # X: 100 units cost 1000 → unit 10 (largest total, oldest).  Y: 2 units cost 30 → unit 15 (newest).
    # Relieve 3: Y whole (30) + 1 of X (1000 × 1/100 = 10) → 40.
    lots = [lot("X", "2024-01-01", 1, 100, 1000), lot("Y", "2024-01-05", 2, 2, 30)]
    relief = relieve_lots(lots, D(3), "HIFO")
    assert relief.cost_local == D(40)  # 30 + 10
    assert [(x.transaction_id, x.quantity, x.cost_local) for x in relief.remaining] == [("X", D(99), D(990))]


# --- FIFO / LIFO ------------------------------------------------------------

def test_lifo_sell_relieves_the_newest_lot_first_and_splits_the_next_newest():
    # Lots: d1 10 @ 10 = 100, d2 10 @ 12 = 120, d3 10 @ 11 = 110.
    # LIFO SELL 15 @ 20: d3 whole (110) + 5 of d2 (120 × 5/10 = 60) = 170; proceeds 300 → realized 130.
    # Left: d1 10 / 100, d2 5 / 60 → cost 160.
    book = Book(method="LIFO")
    for tid, day, price in (("d1", "2024-01-01", 10), ("d2", "2024-01-02", 12), ("d3", "2024-01-03", 11)):
        book.apply(make_tx("BUY", quantity=10, price=price, trade_date=day, transaction_id=tid))
    sell = make_tx("SELL", quantity=15, price=20, trade_date="2024-01-04")
    book.apply(sell)
    assert book.tx(sell).realized_local == D(130)  # 300 − 170
    assert lot_rows(book.position()) == [("d1", "2024-01-01", D(10), D(100), D(100)),
                                         ("d2", "2024-01-02", D(5), D(60), D(60))]
    assert book.position().cost_local == D(160)  # 100 + 60


def test_lifo_on_one_trade_date_takes_the_later_arrival_as_newer():
    # Same date; arrival 1 (cost 100) then arrival 2 (cost 200).  LIFO relieve 5 → half of the
    # arrival-2 lot: 200 × 5/10 = 100.  FIFO would take half of arrival 1: 100 × 5/10 = 50.
    lots = [lot("first", "2024-01-02", 1, 10, 100), lot("second", "2024-01-02", 2, 10, 200)]
    assert relieve_lots(lots, D(5), "LIFO").cost_local == D(100)
    assert relieve_lots(lots, D(5), "FIFO").cost_local == D(50)


def test_fifo_order_is_by_open_date_even_when_the_older_lot_arrived_later():
    # "late" opened 01-01 but arrived 9th; "early" opened 01-05, arrived 1st.
    # FIFO relieve 4 → 4 of "late": 50 × 4/5 = 40.
    lots = [lot("early", "2024-01-05", 1, 5, 100), lot("late", "2024-01-01", 9, 5, 50)]
    assert relieve_lots(lots, D(4), "FIFO").cost_local == D(40)


# --- AVCO -------------------------------------------------------------------

def test_avco_pools_buys_into_one_lot_dated_at_the_first_opening():
    # 10 @ 10 = 100 (T1, 01-02) + 10 @ 14 = 140 (T2, 01-05) → one lot T1/01-02, 20 units, 240.
    book = Book(method="AVCO")
    book.apply(make_tx("BUY", quantity=10, price=10, trade_date="2024-01-02", transaction_id="T1"))
    book.apply(make_tx("BUY", quantity=10, price=14, trade_date="2024-01-05", transaction_id="T2"))
    assert lot_rows(book.position()) == [("T1", "2024-01-02", D(20), D(240), D(240))]


def test_avco_relieves_at_the_running_average_which_moves_with_each_buy():
    # Pool 20 / 240 (avg 12).  SELL 5 @ 15: relieved 240 × 5/20 = 60 → realized 75 − 60 = 15; pool 15 / 180.
    # BUY 5 @ 16 = 80 → pool 20 / 260 (avg 13).  SELL 10 @ 15: relieved 260 × 10/20 = 130 → 150 − 130 = 20.
    # Pool left 10 / 130.
    book = Book(method="AVCO")
    book.apply(make_tx("BUY", quantity=10, price=10, trade_date="2024-01-02", transaction_id="T1"))
    book.apply(make_tx("BUY", quantity=10, price=14, trade_date="2024-01-03"))
    s1 = make_tx("SELL", quantity=5, price=15, trade_date="2024-01-04")
    book.apply(s1)
    book.apply(make_tx("BUY", quantity=5, price=16, trade_date="2024-01-05"))
    s2 = make_tx("SELL", quantity=10, price=15, trade_date="2024-01-06")
    book.apply(s2)
    assert book.tx(s1).realized_local == D(15)  # 75 − 60
    assert book.tx(s2).realized_local == D(20)  # 150 − 130
    assert lot_rows(book.position()) == [("T1", "2024-01-02", D(10), D(130), D(130))]


def test_avco_pool_closed_to_zero_and_reopened_is_dated_at_the_reopening():
    # Pool T1 20 / 240 sold out (SELL 20 @ 15 → 300 − 240 = 60), then BUY T4 5 @ 20 on 01-10
    # opens a fresh pool: T4, 01-10, 5 units, 100.
    book = Book(method="AVCO")
    book.apply(make_tx("BUY", quantity=10, price=10, trade_date="2024-01-02", transaction_id="T1"))
    book.apply(make_tx("BUY", quantity=10, price=14, trade_date="2024-01-05", transaction_id="T2"))
    sell = make_tx("SELL", quantity=20, price=15, trade_date="2024-01-08", transaction_id="T3")
    book.apply(sell)
    assert book.position().lots == []
    assert book.tx(sell).realized_local == D(60)  # 300 − 240
    book.apply(make_tx("BUY", quantity=5, price=20, trade_date="2024-01-10", transaction_id="T4"))
    assert lot_rows(book.position()) == [("T4", "2024-01-10", D(5), D(100), D(100))]


def test_avco_open_lot_adds_quantity_and_both_costs_to_the_existing_pool():
    # Pool P 10 / 100 / 110 + new N 5 / 60 / 66 → P 15 / 160 / 176, still dated 01-01 arrival 1.
    pooled = open_lot([lot("P", "2024-01-01", 1, 10, 100, 110)], lot("N", "2024-01-09", 7, 5, 60, 66), "AVCO")
    assert pooled == [lot("P", "2024-01-01", 1, 15, 160, 176)]


@pytest.mark.parametrize("method", ["FIFO", "LIFO", "HIFO"])
def test_non_avco_methods_keep_each_opened_lot_separate(method):
    existing = [lot("P", "2024-01-01", 1, 10, 100)]
    new = lot("N", "2024-01-09", 7, 5, 60)
    assert open_lot(existing, new, method) == [existing[0], new]


# --- Pro-rata relief and exact zero -------------------------------------------

def test_partial_relief_leaves_exactly_cost_minus_relieved_on_the_lot():
    # 3 units cost 10; relieving 1 takes 10/3 = 3.333333333333333333333333333333333 (34 digits);
    # the lot keeps 10 − that = 6.666666666666666666666666666666667, so the two add back to 10 exactly.
    relief = relieve_lots([lot("A", "2024-01-01", 1, 3, 10, 11)], D(1), "FIFO")
    assert relief.cost_local == D("3.333333333333333333333333333333333")
    assert relief.remaining[0].cost_local == D("6.666666666666666666666666666666667")
    assert relief.remaining[0].cost_local + relief.cost_local == D(10)
    assert relief.remaining[0].cost_base + relief.cost_base == D(11)
    assert relief.remaining[0].quantity == D(2)


def test_selling_a_lot_out_in_thirds_leaves_exactly_zero_cost_and_exact_total_realized():
    # BUY 3 @ 10 fees 1 → cost 31.  Three SELLs of 1 @ 12 (proceeds 12 each).
    # Relieved: 31/3 → 10.33333333333333333333333333333333; then half of the remaining
    # 20.66666666666666666666666666666667 → 10.33333333333333333333333333333334 (half-even);
    # then the rest 10.33333333333333333333333333333333.  They add up to 31 exactly, so the
    # position's cost is exactly 0 and its realized is 36 − 31 = 5 exactly.
    book = Book(method="FIFO")
    book.apply(make_tx("BUY", quantity=3, price=10, fees=1, trade_date="2024-01-02"))
    sells = [make_tx("SELL", quantity=1, price=12, trade_date="2024-01-03") for _ in range(3)]
    for s in sells:
        book.apply(s)
    assert [book.tx(s).realized_local for s in sells] == [
        D("1.66666666666666666666666666666667"),  # 12 − 10.33333333333333333333333333333333
        D("1.66666666666666666666666666666666"),  # 12 − 10.33333333333333333333333333333334
        D("1.66666666666666666666666666666667"),  # 12 − 10.33333333333333333333333333333333
    ]
    pos = book.position()
    assert pos.quantity == 0 and pos.lots == []
    assert pos.cost_local == 0 and pos.cost_base == 0
    assert pos.realized_local == D(5)  # 36 − 31


def test_relieving_more_than_one_lot_takes_whole_lots_before_splitting():
    # FIFO lots 4 / 400, 5 / 555.55.  Relieve 4: the first lot exactly, nothing split (400).
    lots = [lot("a", "2024-01-01", 1, 4, "400.00"), lot("b", "2024-01-02", 2, 5, "555.55")]
    relief = relieve_lots(lots, D(4), "FIFO")
    assert relief.cost_local == D(400)
    assert relief.remaining == [lots[1]]


def test_short_lots_are_relieved_pro_rata_keeping_their_negative_sign():
    # Short −5 carried at −99 (base −118.8).  Relieve 2: −99 × 2/5 = −39.6, base −118.8 × 2/5 = −47.52.
    # Left: −3 at −59.4 / −71.28.
    relief = relieve_lots([lot("S", "2024-01-01", 1, -5, -99, "-118.8")], D(2), "FIFO")
    assert relief.cost_local == D("-39.6")
    assert relief.cost_base == D("-47.52")
    assert relief.remaining == [lot("S", "2024-01-01", 1, -3, "-59.4", "-71.28")]


# --- Scaling ------------------------------------------------------------------

def test_scale_lots_multiplies_long_and_short_quantities_and_keeps_costs():
    # 10 × 2 = 20 at cost 100; −5 × 2 = −10 at cost −99; ratio 0.5: 10 → 5.
    longs = [lot("L", "2024-01-01", 1, 10, 100)]
    shorts = [lot("S", "2024-01-01", 1, -5, -99)]
    assert scale_lots(longs, D(2)) == [lot("L", "2024-01-01", 1, 20, 100)]
    assert scale_lots(shorts, D(2)) == [lot("S", "2024-01-01", 1, -10, -99)]
    assert scale_lots(longs, D("0.5")) == [lot("L", "2024-01-01", 1, 5, 100)]


def test_held_is_the_signed_sum_of_lot_quantities():
    assert held([lot("a", "d", 1, 3, 1), lot("b", "d", 2, "1.5", 1)]) == D("4.5")
    assert held([]) == Decimal(0)


def test_hifo_keeps_relieving_the_older_of_two_equal_unit_cost_lots_after_a_partial_relief():
    # A (01-01) and B (01-02): BUY 3 @ 6 fees 2 → cost 20 each, unit 20/3: a tie, oldest first.
    # SELL 1: from A → A keeps 2 units at 40/3, unit still 20/3, still tied with B and older.
    # SELL 1: from A again → A 1 unit, B 3 units untouched.
    book = Book(method="HIFO")
    book.apply(make_tx("BUY", quantity=3, price=6, fees=2, trade_date="2024-01-01", transaction_id="A"))
    book.apply(make_tx("BUY", quantity=3, price=6, fees=2, trade_date="2024-01-02", transaction_id="B"))
    book.apply(make_tx("SELL", quantity=1, price=10, trade_date="2024-01-03"))
    book.apply(make_tx("SELL", quantity=1, price=10, trade_date="2024-01-03"))
    assert [(x.transaction_id, x.quantity) for x in book.position().lots] == [("A", D(1)), ("B", D(3))]
