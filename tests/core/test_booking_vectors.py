"""Published worked examples, each figure computed by hand in the comment."""
from decimal import Decimal

import pytest

from core.lots import Lot, relieve_lots
from tests.core.factories import D, Book, make_tx


def test_fifo_sell_relieves_oldest_lot_first_and_splits_the_next():
    # cost 1000 + 20 × 12 = 1240; proceeds 1800 → realized 560; 30 left at 360.
    book = Book(method="FIFO")
    book.apply(make_tx("BUY", quantity=100, price=10))
    book.apply(make_tx("BUY", quantity=50, price=12))
    sell = make_tx("SELL", quantity=120, price=15)
    book.apply(sell)
    assert book.tx(sell).realized_local == D(560)
    assert book.position().quantity == D(30)
    assert book.position().cost_local == D(360)


def test_avco_sell_relieves_at_running_average_cost():
    # average (1000 + 1200) / 200 = 11; 50 × (15 − 11) = 200.
    book = Book(method="AVCO")
    book.apply(make_tx("BUY", quantity=100, price=10))
    book.apply(make_tx("BUY", quantity=100, price=12))
    sell = make_tx("SELL", quantity=50, price=15)
    book.apply(sell)
    assert book.tx(sell).realized_local == D(200)
    assert len(book.position().lots) == 1


def test_dual_currency_sell_realizes_local_and_base_at_each_trades_rate():
    # cost 15000 EUR / 16500 USD; 40 relieve 6000 / 6600;
    # proceeds 6800 EUR → 800 EUR; 6800 × 1.20 − 6600 = 1560 USD.
    book = Book(base="USD")
    book.apply(make_tx("BUY", quantity=100, price=150, currency="EUR", fx_rate="1.10"))
    sell = make_tx("SELL", quantity=40, price=170, currency="EUR", fx_rate="1.20")
    book.apply(sell)
    assert book.tx(sell).realized_local == D(800)
    assert book.tx(sell).realized_base == D(1560)
    assert book.position().cost_local == D(9000)
    assert book.position().cost_base == D(9900)


def test_sell_fee_reduces_proceeds_in_both_currencies():
    # lot cost 7500 EUR / 8250 USD; proceeds 8000 − 8 = 7992 → 492 EUR;
    # 7992 × 1.20 − 8250 = 1340.40 USD.
    book = Book(base="USD")
    book.apply(make_tx("BUY", quantity=100, price=75, currency="EUR", fx_rate="1.10"))
    sell = make_tx("SELL", quantity=100, price=80, fees=8, currency="EUR", fx_rate="1.20")
    book.apply(sell)
    assert book.tx(sell).realized_local == D(492)
    assert book.tx(sell).realized_base == D("1340.40")
    assert book.position().cost_local == 0 and book.position().cost_base == 0


@pytest.mark.parametrize("method, relieved", [("FIFO", "733.33"), ("LIFO", "844.43")])
def test_relieving_seven_units_takes_cost_in_method_order(method, relieved):
    # FIFO: 4 × 100 + 3 × 111.11 = 733.33; LIFO: 6 × 122.22 + 1 × 111.11 = 844.43.
    lots = [Lot("a", "2024-01-01", 1, D(4), D("400.00"), D("400.00")),
            Lot("b", "2024-01-02", 2, D(5), D("555.55"), D("555.55")),
            Lot("c", "2024-01-03", 3, D(6), D("733.32"), D("733.32"))]
    relief = relieve_lots(lots, D(7), method)
    assert relief.cost_local == D(relieved)
    assert sum(lot.quantity for lot in relief.remaining) == D(8)


@pytest.mark.parametrize("method, remaining", [("FIFO", "4400.74"), ("AVCO", "4383.74")])
def test_remaining_cost_after_partial_sell_by_method(method, remaining):
    # FIFO: 3149.20 × 94/109 + 1684.92 = 4400.74 (to the cent);
    # AVCO: 4834.12 × 146/161 = 4383.74 (to the cent).
    book = Book(method=method)
    book.apply(make_tx("BUY", quantity=109, price=D("3149.20") / 109))
    book.apply(make_tx("BUY", quantity=52, price=D("1684.92") / 52))
    book.apply(make_tx("SELL", quantity=15, price=40))
    cost = book.position().cost_local
    assert cost.quantize(Decimal("0.01")) == D(remaining)


def test_back_dated_sell_rebuilds_the_key_as_if_it_arrived_in_order():
    # day 2 sell 40 @ 215 relieves the day-1 lot at 200 → 600;
    # left 60 @ 200 + 50 @ 220 = 23000.
    book = Book(method="FIFO")
    book.apply(make_tx("BUY", quantity=100, price=200, trade_date="2024-01-01"))
    book.apply(make_tx("BUY", quantity=50, price=220, trade_date="2024-01-03"))
    sell = make_tx("SELL", quantity=40, price=215, trade_date="2024-01-02")
    book.apply(sell)
    assert book.tx(sell).realized_local == D(600)
    assert book.position().quantity == D(110)
    assert book.position().cost_local == D(23000)
