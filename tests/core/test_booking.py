"""Booking trades onto lots: shorts, covering, transfers and splits.

Every expected figure is worked out by hand in the comment beside it. EUR trades in a
USD-based book carry explicit fx rates so the base figures are easy to follow.
"""
from __future__ import annotations

import pytest

from core.ledger import Applied
from tests.core.factories import D, Book, lot_rows, make_tx


def eur(type_, **kw):
    return make_tx(type_, currency="EUR", **kw)


# --- Selling beyond the long quantity -----------------------------------------

def test_sell_beyond_long_quantity_realizes_on_the_longs_and_opens_a_short_at_net_proceeds():
    # Hold 10 @ 10 = 100.  SELL 15 @ 20 fees 3: proceeds 300 − 3 = 297, split by quantity:
    # longs' share 297 × 10/15 = 198 → realized 198 − 100 = 98;
    # short −5 carried at −(297 − 198) = −99 = −(5 × 20 − 1) (the short's 1 of the 3 fees).
    book = Book()
    book.apply(make_tx("BUY", quantity=10, price=10, trade_date="2024-01-02"))
    sell = make_tx("SELL", quantity=15, price=20, fees=3, trade_date="2024-01-03", transaction_id="S")
    book.apply(sell)
    assert book.tx(sell).realized_local == D(98)
    assert lot_rows(book.position()) == [("S", "2024-01-03", D(-5), D(-99), D(-99))]
    assert book.position().quantity == D(-5)
    assert book.cash() == D(197)  # −100 + 297


def test_crossing_sell_in_foreign_currency_realizes_base_at_sell_fx_and_carries_short_at_sell_fx():
    # BUY 10 @ 10 EUR fx 1.1 → 100 EUR / 110 USD.  SELL 15 @ 20 fees 3 fx 1.2:
    # realized_local 198 − 100 = 98; realized_base 198 × 1.2 − 110 = 237.6 − 110 = 127.6;
    # short −5 at −99 EUR, base −99 × 1.2 = −118.8.
    book = Book()
    book.apply(eur("BUY", quantity=10, price=10, fx_rate="1.1", trade_date="2024-01-02"))
    sell = eur("SELL", quantity=15, price=20, fees=3, fx_rate="1.2", trade_date="2024-01-03", transaction_id="S")
    book.apply(sell)
    assert (book.tx(sell).realized_local, book.tx(sell).realized_base) == (D(98), D("127.6"))
    assert lot_rows(book.position()) == [("S", "2024-01-03", D(-5), D(-99), D("-118.8"))]


def test_crossing_sell_split_of_proceeds_adds_back_to_the_whole_even_when_it_does_not_terminate():
    # Hold 1 @ 5.  SELL 3 @ 10 fees 1: proceeds 29; longs' share 29/3 = 9.666666666666666666666666666666667
    # → realized 4.666666666666666666666666666666667; short −2 at −(29 − 9.666…667)
    # = −19.33333333333333333333333333333333; the two shares add up to 29 exactly.
    book = Book()
    book.apply(make_tx("BUY", quantity=1, price=5, trade_date="2024-01-02"))
    sell = make_tx("SELL", quantity=3, price=10, fees=1, trade_date="2024-01-03")
    book.apply(sell)
    assert book.tx(sell).realized_local == D("4.666666666666666666666666666666667")
    short = book.position().lots[0]
    assert short.cost_local == D("-19.33333333333333333333333333333333")
    assert book.tx(sell).realized_local + 5 - short.cost_local == D(29)


def test_sell_with_no_position_opens_a_short_at_minus_net_proceeds_and_realizes_nothing():
    # SELL 5 @ 20 fees 1 → short −5 at −(100 − 1) = −99; nothing closed → realized 0.
    book = Book()
    sell = make_tx("SELL", quantity=5, price=20, fees=1, transaction_id="S")
    book.apply(sell)
    assert lot_rows(book.position()) == [("S", "2024-01-02", D(-5), D(-99), D(-99))]
    assert book.tx(sell).realized_local == 0
    assert book.cash() == D(99)


# --- Covering shorts ------------------------------------------------------------

def _short_five_eur(book):
    """Short −5 EUR carried at −99 / −118.8 (from SELL 5 @ 20 fees 1 at fx 1.2)."""
    book.apply(eur("SELL", quantity=5, price=20, fees=1, fx_rate="1.2", trade_date="2024-01-02", transaction_id="S"))


def test_buy_covering_shorts_realizes_short_proceeds_minus_its_pro_rata_cost_and_opens_the_rest_long():
    # Short −5 at −99 / −118.8.  BUY 8 @ 10 fees 4 fx 1.25: cost 84, cover share 84 × 5/8 = 52.5.
    # realized_local 99 − 52.5 = 46.5; realized_base 118.8 − 52.5 × 1.25 = 118.8 − 65.625 = 53.175.
    # Long 3 at 84 − 52.5 = 31.5, base 31.5 × 1.25 = 39.375.
    book = Book()
    _short_five_eur(book)
    buy = eur("BUY", quantity=8, price=10, fees=4, fx_rate="1.25", trade_date="2024-01-03", transaction_id="B")
    book.apply(buy)
    assert (book.tx(buy).realized_local, book.tx(buy).realized_base) == (D("46.5"), D("53.175"))
    assert lot_rows(book.position()) == [("B", "2024-01-03", D(3), D("31.5"), D("39.375"))]
    assert book.cash("EUR") == D(15)  # +99 − 84


def test_buy_covering_part_of_a_short_relieves_it_pro_rata():
    # Short −5 at −99 / −118.8.  BUY 2 @ 15 fx 1.25 → cost 30 / 37.5.
    # Relieved short 2/5: −39.6 / −47.52 → realized 39.6 − 30 = 9.6; base 47.52 − 37.5 = 10.02.
    # Left −3 at −59.4 / −71.28.
    book = Book()
    _short_five_eur(book)
    buy = eur("BUY", quantity=2, price=15, fx_rate="1.25", trade_date="2024-01-03")
    book.apply(buy)
    assert (book.tx(buy).realized_local, book.tx(buy).realized_base) == (D("9.6"), D("10.02"))
    assert lot_rows(book.position()) == [("S", "2024-01-02", D(-3), D("-59.4"), D("-71.28"))]


def test_buy_exactly_covering_a_short_leaves_no_lots_and_exactly_zero_cost():
    # Short −5 at −99.  BUY 5 @ 18 fees 1 → cost 91 → realized 99 − 91 = 8; nothing left.
    book = Book()
    book.apply(make_tx("SELL", quantity=5, price=20, fees=1, trade_date="2024-01-02"))
    buy = make_tx("BUY", quantity=5, price=18, fees=1, trade_date="2024-01-03")
    book.apply(buy)
    assert book.tx(buy).realized_local == D(8)
    pos = book.position()
    assert pos.lots == [] and pos.quantity == 0 and pos.cost_local == 0 and pos.cost_base == 0
    assert pos.realized_local == D(8)


@pytest.mark.parametrize("method, realized, left", [
    # Shorts: S20 −5 at −100 (unit 20), S30 −5 at −150 (unit 30), S25 −5 at −125 (unit 25).
    # BUY 5 @ 22 = 110 covers one whole lot:
    ("HIFO", 40, ["S20", "S25"]),   # highest cost/quantity: S30 → 150 − 110 = 40
    ("FIFO", -10, ["S30", "S25"]),  # oldest: S20 → 100 − 110 = −10
    ("LIFO", 15, ["S20", "S30"]),   # newest: S25 → 125 − 110 = 15
])
def test_buy_covers_short_lots_in_cost_method_order(method, realized, left):
    book = Book(method=method)
    for tid, day, price in (("S20", "2024-01-02", 20), ("S30", "2024-01-03", 30), ("S25", "2024-01-04", 25)):
        book.apply(make_tx("SELL", quantity=5, price=price, trade_date=day, transaction_id=tid))
    buy = make_tx("BUY", quantity=5, price=22, trade_date="2024-01-05")
    book.apply(buy)
    assert book.tx(buy).realized_local == D(realized)
    assert [lot.transaction_id for lot in book.position().lots] == left


def test_hifo_covers_the_older_of_two_shorts_with_equal_proceeds_per_unit_first():
    # S1 (01-02): 4 @ 20 → −80, unit 20.  S2 (01-03): 2 @ 20.5 fees 1 → −40, unit 20.  Tied.
    # BUY 2 @ 10 covers 2 of the older S1: −80 × 2/4 = −40 → realized 40 − 20 = 20.
    # Left: S1 −2 at −40, S2 −2 at −40 untouched.
    book = Book(method="HIFO")
    book.apply(make_tx("SELL", quantity=4, price=20, trade_date="2024-01-02", transaction_id="S1"))
    book.apply(make_tx("SELL", quantity=2, price="20.5", fees=1, trade_date="2024-01-03", transaction_id="S2"))
    buy = make_tx("BUY", quantity=2, price=10, trade_date="2024-01-04")
    book.apply(buy)
    assert book.tx(buy).realized_local == D(20)
    assert lot_rows(book.position()) == [("S1", "2024-01-02", D(-2), D(-40), D(-40)),
                                         ("S2", "2024-01-03", D(-2), D(-40), D(-40))]


def test_avco_pools_short_sells_and_covers_at_the_average_proceeds():
    # S1 5 @ 20 → −100, S2 5 @ 30 → −150 → pool S1: −10 at −250 (avg 25).
    # BUY 4 @ 20 = 80 relieves −250 × 4/10 = −100 → realized 100 − 80 = 20; pool −6 at −150.
    book = Book(method="AVCO")
    book.apply(make_tx("SELL", quantity=5, price=20, trade_date="2024-01-02", transaction_id="S1"))
    book.apply(make_tx("SELL", quantity=5, price=30, trade_date="2024-01-03", transaction_id="S2"))
    assert lot_rows(book.position()) == [("S1", "2024-01-02", D(-10), D(-250), D(-250))]
    buy = make_tx("BUY", quantity=4, price=20, trade_date="2024-01-04")
    book.apply(buy)
    assert book.tx(buy).realized_local == D(20)
    assert lot_rows(book.position()) == [("S1", "2024-01-02", D(-6), D(-150), D(-150))]


# --- Transfers ------------------------------------------------------------------

def test_transfer_in_opens_a_lot_at_quantity_times_price_and_its_fees_only_leave_cash():
    # TRANSFER_IN 10 @ 15 fees 5 EUR fx 1.1 → lot 150 EUR / 165 USD (fees not in cost);
    # cash EUR −5; nothing realized.
    book = Book()
    t = eur("TRANSFER_IN", quantity=10, price=15, fees=5, fx_rate="1.1", transaction_id="TI")
    book.apply(t)
    assert lot_rows(book.position()) == [("TI", "2024-01-02", D(10), D(150), D(165))]
    assert book.tx(t).realized_local == 0 and book.tx(t).realized_base == 0
    assert book.tx(t).cash == {"EUR": D(-5)}
    assert book.cash("EUR") == D(-5)
    assert book.position().listed


def test_transfer_in_first_closes_shorts_without_realizing_and_opens_the_rest_at_price():
    # Short −5 at −99.  TRANSFER_IN 8 @ 12: the short is closed (realized stays 0),
    # 3 are opened at 3 × 12 = 36.
    book = Book()
    book.apply(make_tx("SELL", quantity=5, price=20, fees=1, trade_date="2024-01-02"))
    t = make_tx("TRANSFER_IN", quantity=8, price=12, trade_date="2024-01-03", transaction_id="TI")
    book.apply(t)
    assert book.tx(t).realized_local == 0 and book.tx(t).realized_base == 0
    assert lot_rows(book.position()) == [("TI", "2024-01-03", D(3), D(36), D(36))]
    assert book.position().realized_local == 0


def test_transfer_in_covering_part_of_a_short_relieves_it_pro_rata_without_realizing():
    # Short −5 at −99; TRANSFER_IN 2 @ 50 → short −3 at −99 × 3/5 = −59.4, realized 0.
    book = Book()
    book.apply(make_tx("SELL", quantity=5, price=20, fees=1, trade_date="2024-01-02", transaction_id="S"))
    book.apply(make_tx("TRANSFER_IN", quantity=2, price=50, trade_date="2024-01-03"))
    assert lot_rows(book.position()) == [("S", "2024-01-02", D(-3), D("-59.4"), D("-59.4"))]
    assert book.position().realized_local == 0


@pytest.mark.parametrize("method, cost_left", [
    # Lots 10 @ 10 = 100 (01-02), 10 @ 12 = 120 (01-03); TRANSFER_OUT 15:
    ("FIFO", 60),  # relieves 100 + 120 × 5/10 = 160 → left 5 at 60
    ("LIFO", 50),  # relieves 120 + 100 × 5/10 = 170 → left 5 at 50
])
def test_transfer_out_relieves_lots_like_a_sell_but_realizes_nothing(method, cost_left):
    book = Book(method=method)
    book.apply(make_tx("BUY", quantity=10, price=10, trade_date="2024-01-02"))
    book.apply(make_tx("BUY", quantity=10, price=12, trade_date="2024-01-03"))
    t = make_tx("TRANSFER_OUT", quantity=15, price=50, fees=2, trade_date="2024-01-04")
    book.apply(t)
    assert book.tx(t).realized_local == 0 and book.position().realized_local == 0
    assert book.position().quantity == D(5)
    assert book.position().cost_local == D(cost_left)
    assert book.cash() == D(-222)  # −100 − 120 − 2 (fees only)


def test_transfer_out_beyond_the_long_quantity_opens_a_short_at_its_price():
    # Hold 4 @ 10 EUR fx 1.1 → 40 / 44.  TRANSFER_OUT 10 @ 7 fees 1 fx 1.2: longs go (nothing
    # realized), short −6 at −(6 × 7) = −42 (fees not in it), base −42 × 1.2 = −50.4.
    book = Book()
    book.apply(eur("BUY", quantity=4, price=10, fx_rate="1.1", trade_date="2024-01-02"))
    t = eur("TRANSFER_OUT", quantity=10, price=7, fees=1, fx_rate="1.2", trade_date="2024-01-03",
            transaction_id="TO")
    book.apply(t)
    assert lot_rows(book.position()) == [("TO", "2024-01-03", D(-6), D(-42), D("-50.4"))]
    assert book.position().realized_local == 0 and book.position().realized_base == 0


def test_transfer_out_beyond_the_long_quantity_without_a_price_opens_a_short_at_zero():
    # Hold 4 @ 10; TRANSFER_OUT 10 with no price → short −6 at 0.
    book = Book()
    book.apply(make_tx("BUY", quantity=4, price=10, trade_date="2024-01-02"))
    book.apply(make_tx("TRANSFER_OUT", quantity=10, trade_date="2024-01-03", transaction_id="TO"))
    [short] = book.position().lots
    assert (short.transaction_id, short.quantity, short.cost_local, short.cost_base) == ("TO", D(-6), 0, 0)


# --- Splits ---------------------------------------------------------------------

def test_split_scales_every_long_lot_and_keeps_cost_cash_and_realized():
    # Lots 10 / 100 and 5 / 60; SPLIT 2 (fees 5 ignored) → 20 / 100 and 10 / 60; quantity 30, cost 160.
    # Cash stays −160; no cash effect.
    book = Book()
    book.apply(make_tx("BUY", quantity=10, price=10, trade_date="2024-01-02", transaction_id="A"))
    book.apply(make_tx("BUY", quantity=5, price=12, trade_date="2024-01-03", transaction_id="B"))
    split = make_tx("SPLIT", quantity=2, fees=5, currency=None, trade_date="2024-01-04")
    book.apply(split)
    assert lot_rows(book.position()) == [("A", "2024-01-02", D(20), D(100), D(100)),
                                         ("B", "2024-01-03", D(10), D(60), D(60))]
    assert book.position().cost_local == D(160)
    assert book.cash() == D(-160)
    assert book.tx(split).cash == {}
    assert book.position().realized_local == 0


def test_split_scales_short_lots_and_a_later_cover_realizes_on_the_unchanged_proceeds():
    # Short −5 at −99; SPLIT 3 → −15 at −99.  BUY 15 @ 6 = 90 covers it → realized 99 − 90 = 9.
    book = Book()
    book.apply(make_tx("SELL", quantity=5, price=20, fees=1, trade_date="2024-01-02", transaction_id="S"))
    book.apply(make_tx("SPLIT", quantity=3, currency=None, trade_date="2024-01-03"))
    assert lot_rows(book.position()) == [("S", "2024-01-02", D(-15), D(-99), D(-99))]
    buy = make_tx("BUY", quantity=15, price=6, trade_date="2024-01-04")
    book.apply(buy)
    assert book.tx(buy).realized_local == D(9)
    assert book.position().lots == []


def test_split_without_a_position_does_nothing_and_needs_no_fx_rate():
    # SPLIT quoted in EUR in a USD book with no EUR rate known: applied, no lots, not listed, no cash.
    book = Book()
    outcome = book.apply(eur("SPLIT", quantity=2, trade_date="2024-01-02"))
    assert isinstance(outcome, Applied)
    pos = book.position()
    assert pos is None or (pos.lots == [] and not pos.listed)
    assert book.store.cash == {}


def test_back_dated_buy_before_a_split_is_scaled_by_it_and_a_later_buy_is_not():
    # BUY T1 10 @ 10 (01-02); SPLIT 2 (01-05); back-dated BUY T3 5 @ 8 = 40 (01-03) arrives after:
    # in date order T1 and T3 are both split → 20 / 100 and 10 / 40; quantity 30, cost 140.
    # BUY T4 5 @ 5 = 25 (01-06) comes after the split → 5 / 25; quantity 35, cost 165.
    book = Book()
    book.apply(make_tx("BUY", quantity=10, price=10, trade_date="2024-01-02", transaction_id="T1"))
    book.apply(make_tx("SPLIT", quantity=2, currency=None, trade_date="2024-01-05"))
    book.apply(make_tx("BUY", quantity=5, price=8, trade_date="2024-01-03", transaction_id="T3"))
    assert lot_rows(book.position()) == [("T1", "2024-01-02", D(20), D(100), D(100)),
                                         ("T3", "2024-01-03", D(10), D(40), D(40))]
    book.apply(make_tx("BUY", quantity=5, price=5, trade_date="2024-01-06", transaction_id="T4"))
    assert book.position().quantity == D(35)
    assert book.position().cost_local == D(165)


def test_selling_everything_after_a_split_leaves_exactly_zero_cost():
    # BUY 3 @ 10 = 30; SPLIT 2 → 6 units at 30.  SELL 6 @ 7 = 42 → realized 42 − 30 = 12; cost 0.
    book = Book()
    book.apply(make_tx("BUY", quantity=3, price=10, trade_date="2024-01-02"))
    book.apply(make_tx("SPLIT", quantity=2, currency=None, trade_date="2024-01-03"))
    sell = make_tx("SELL", quantity=6, price=7, trade_date="2024-01-04")
    book.apply(sell)
    assert book.tx(sell).realized_local == D(12)
    assert book.position().cost_local == 0 and book.position().quantity == 0
