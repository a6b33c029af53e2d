"""Realized gains per closed lot (core.realized through the ledger): figures worked out by hand."""
from __future__ import annotations

from datetime import date

from core.realized import holding_days, shares
from tests.core.factories import D, Book, cancel, make_tx


def _items(book: Book, tx) -> list[tuple]:
    return [(c.lot_transaction_id, c.open_date, c.quantity, c.proceeds_local, c.cost_local, c.gain_local,
             c.proceeds_base, c.cost_base, c.gain_base) for c in book.tx(tx).closed]


def _sums_equal_realized(book: Book, tx) -> bool:
    record = book.tx(tx)
    return (sum((c.gain_local for c in record.closed), D(0)) == record.realized_local
            and sum((c.gain_base for c in record.closed), D(0)) == record.realized_base)


def test_a_fifo_sell_over_two_lots_closes_each_with_its_share_of_the_net_proceeds():
    book = Book()
    t1 = make_tx("BUY", quantity="10", price="100", fees="5", trade_date="2024-01-02")
    t2 = make_tx("BUY", quantity="5", price="120", trade_date="2024-02-01")
    sell = make_tx("SELL", quantity="12", price="130", fees="6", trade_date="2024-03-01")
    for tx in (t1, t2, sell):
        book.apply(tx)
    # Net proceeds 12 × 130 − 6 = 1554: 10/12 of it is 1295, the rest 259.
    # T1's 10 units cost 1005; 2 of T2's 5 units cost 600 × 2/5 = 240.
    assert _items(book, sell) == [
        (t1.transaction_id, "2024-01-02", D(10), D(1295), D(1005), D(290), D(1295), D(1005), D(290)),
        (t2.transaction_id, "2024-02-01", D(2), D(259), D(240), D(19), D(259), D(240), D(19))]
    assert book.tx(sell).realized_local == D(309)
    assert [holding_days(date.fromisoformat(c.open_date), date(2024, 3, 1))
            for c in book.tx(sell).closed] == [59, 29]  # 2024 is a leap year


def test_covering_a_short_closes_it_at_the_short_sales_proceeds_against_the_covering_cost():
    book = Book()
    short = make_tx("SELL", quantity="10", price="50", fees="2", trade_date="2024-01-02")
    cover = make_tx("BUY", quantity="4", price="40", fees="1", trade_date="2024-01-10")
    book.apply(short)
    book.apply(cover)
    # The short lot carries −(500 − 2) = −498 for 10 units: 4 of them received 199.2; covering cost 161.
    assert _items(book, cover) == [
        (short.transaction_id, "2024-01-02", D(4), D("199.2"), D(161), D("38.2"), D("199.2"), D(161), D("38.2"))]
    assert book.tx(cover).realized_local == D("38.2")


def test_avco_closes_against_the_pool_naming_no_lot():
    book = Book(method="AVCO")
    for price, day in (("100", "2024-01-02"), ("110", "2024-01-03")):
        book.apply(make_tx("BUY", quantity="10", price=price, trade_date=day))
    sell = make_tx("SELL", quantity="5", price="120", trade_date="2024-02-01")
    book.apply(sell)
    # Pool: 20 units for 2100; 5 of them cost 525 and fetched 600.
    assert _items(book, sell) == [(None, None, D(5), D(600), D(525), D(75), D(600), D(525), D(75))]
    assert holding_days(None, date(2024, 2, 1)) is None


def test_base_currency_gains_use_the_rates_of_the_opening_and_the_closing_trade():
    book = Book(base="USD")
    buy = make_tx("BUY", quantity="10", price="100", currency="EUR", fx_rate="1.2")
    sell = make_tx("SELL", quantity="4", price="110", currency="EUR", fx_rate="1.1", trade_date="2024-02-01")
    book.apply(buy)
    book.apply(sell)
    # Proceeds 440 EUR = 484 USD; cost 400 EUR, booked at 1.2 = 480 USD.
    assert _items(book, sell) == [(buy.transaction_id, "2024-01-02", D(4), D(440), D(400), D(40), D(484),
                                   D(480), D(4))]


def test_a_back_dated_buy_changes_which_lot_a_fifo_sell_closed_and_a_cancelled_sell_closes_none():
    book = Book()
    late = make_tx("BUY", quantity="10", price="100", trade_date="2024-01-05")
    sell = make_tx("SELL", quantity="10", price="90", trade_date="2024-02-01")
    early = make_tx("BUY", quantity="10", price="80", trade_date="2024-01-02")
    for tx in (late, sell, early):
        book.apply(tx)
    assert _items(book, sell) == [(early.transaction_id, "2024-01-02", D(10), D(900), D(800), D(100), D(900),
                                   D(800), D(100))]
    book.apply(cancel(sell, 2))
    assert book.tx(sell).closed == []


def test_shares_of_an_amount_always_sum_to_it_exactly():
    parts = shares(D("100"), [D(1), D(1), D(1)])
    assert parts[:2] == [D("33.33333333333333333333333333333333")] * 2
    assert sum(parts, D(0)) == D(100)


def test_every_closing_trade_of_a_mixed_history_sums_to_its_realized_pnl():
    book = Book(method="HIFO")
    trades = [make_tx("BUY", quantity="3", price="10.07", fees="0.13", trade_date="2024-01-02"),
              make_tx("BUY", quantity="7", price="9.31", fees="1", trade_date="2024-01-03"),
              make_tx("SELL", quantity="4", price="11.17", fees="0.99", trade_date="2024-01-04"),
              make_tx("SELL", quantity="9", price="12.01", fees="0.5", trade_date="2024-01-05"),  # goes short 3
              make_tx("BUY", quantity="5", price="8.43", fees="0.7", trade_date="2024-01-06")]
    for tx in trades:
        book.apply(tx)
    assert [len(book.tx(tx).closed) for tx in trades] == [0, 0, 2, 1, 1]  # HIFO: lot 1 then part of lot 2; the rest of lot 2; the short
    assert all(_sums_equal_realized(book, tx) for tx in trades)
