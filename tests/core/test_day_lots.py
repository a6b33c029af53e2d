"""End-of-day states keep their lots only when few, or on a position's first changed day of a month
(core.day_lots); a replay starts from the latest earlier day that keeps them, with the same figures."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.day_lots import keeps_lots
from tests.core.factories import Book, days, history, lot_rows, make_tx


@pytest.mark.parametrize(("day", "previous", "lots", "kept"), [
    ("2024-01-09", None, 9, True),            # the position's first day
    ("2024-02-01", "2024-01-31", 9, True),    # the first changed day of a month
    ("2024-01-09", "2024-01-08", 4, True),    # few lots
    ("2024-01-09", "2024-01-08", 5, False),
    ("2025-01-09", "2024-01-10", 5, True),    # same month number, another year
])
def test_a_day_keeps_its_lots_when_first_of_its_month_or_when_they_are_few(day, previous, lots, kept):
    assert keeps_lots(day, previous, range(lots)) is kept


def _buys(n: int, first: str = "2024-01-02") -> list:
    """n BUYs of 10 on n consecutive days, at 100, 101, 102…"""
    start = date.fromisoformat(first)
    return [make_tx("BUY", quantity="10", price=str(100 + i), trade_date=(start + timedelta(i)).isoformat(),
                    transaction_id=f"B{i:02d}") for i in range(n)]


def test_in_order_trades_keep_lots_on_the_first_days_and_then_only_on_the_first_day_of_the_next_month():
    book = Book()
    for tx in [*_buys(10), make_tx("BUY", quantity="10", price="200", trade_date="2024-02-01", transaction_id="F1")]:
        book.apply(tx)

    kept = [(d.day, None if d.lots is None else len(d.lots)) for d in days(book.store, book.position())]
    assert kept == [("2024-01-02", 1), ("2024-01-03", 2), ("2024-01-04", 3), ("2024-01-05", 4),
                    ("2024-01-06", None), ("2024-01-07", None), ("2024-01-08", None), ("2024-01-09", None),
                    ("2024-01-10", None), ("2024-01-11", None), ("2024-02-01", 11)]


def test_a_back_dated_sale_replays_from_the_last_day_that_kept_its_lots_to_the_figures_of_the_dated_order():
    sale = make_tx("SELL", quantity="15", price="150", trade_date="2024-01-08", transaction_id="S1")
    later = make_tx("BUY", quantity="10", price="200", trade_date="2024-02-01", transaction_id="F1")
    late = Book()
    for tx in [*_buys(10), later, sale]:  # the sale arrives last, dated between lots that kept no lots
        late.apply(tx)
    dated = Book()
    for tx in [*_buys(7), sale, *_buys(10)[7:], later]:
        dated.apply(tx)

    # FIFO: 10 @100 and 5 @101 sold at 150: 15 × 150 − (1000 + 505) = 745.
    assert late.tx(sale).realized_local == 745
    assert late.position().realized_local == 745
    assert lot_rows(late.position()) == lot_rows(dated.position())
    assert history(late.store) == history(dated.store)
    assert [(d.day, d.lots is None) for d in days(late.store, late.position())] == [
        (d.day, d.lots is None) for d in days(dated.store, dated.position())]
    assert late.position().quantity == 100 - 15 + 10
