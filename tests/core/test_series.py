"""The daily series: valuation dates, MV_t, In_t and Out_t by hand, missing data, sub-ranges."""
from __future__ import annotations

from core.fx import FxBook
from core.market import InstrumentInfo, MarketData, PriceBook
from core.series import (
    CashMove,
    Flow,
    Holding,
    SeriesPoint,
    cash_moves_of,
    compute_series,
    flow_of,
    flow_of_record,
    valuation_dates,
)
from tests.core.factories import Book, D, make_tx
from tests.core.factories import days as day_states


def test_valuation_dates_are_the_weekdays_plus_weekend_dates_with_a_transaction():
    # 2024-01-05 is a Friday; 01-06/07 and 01-13/14 are weekends.
    days = valuation_dates("2024-01-05", "2024-01-12", ["2024-01-06", "2024-01-09", "2024-01-13", "2024-01-04"])
    assert days == ["2024-01-05", "2024-01-06", "2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11",
                    "2024-01-12"]


def test_a_first_transaction_on_a_weekend_starts_the_series_that_day():
    assert valuation_dates("2024-01-06", "2024-01-08", ["2024-01-06"]) == ["2024-01-06", "2024-01-08"]
    assert valuation_dates("2024-01-08", "2024-01-05", []) == []


def test_flow_and_cash_move_helpers_read_a_transaction():
    assert flow_of("DEPOSIT", "2024-01-05", D(1000), D("1.1"), None, "EUR", None) == \
        Flow("2024-01-05", "in", amount_base=D(1100))
    assert flow_of("WITHDRAWAL", "2024-01-05", D(10), D(2), None, "EUR", None) == \
        Flow("2024-01-05", "out", amount_base=D(20))
    assert flow_of("TRANSFER_OUT", "2024-01-05", None, D(1), "A", "USD", D(3)) == \
        Flow("2024-01-05", "out", security_id="A", currency="USD", quantity=D(3))
    for not_a_flow in ("BUY", "SELL", "DIVIDEND", "INTEREST", "FEE", "TAX", "SPLIT"):
        assert flow_of(not_a_flow, "2024-01-05", D(1), D(1), "A", "USD", D(1)) is None
    assert cash_moves_of("2024-01-05", {"USD": D(-5), "EUR": D(0)}) == [CashMove("2024-01-05", "USD", D(-5))]


def market() -> MarketData:
    prices, fx = PriceBook(), FxBook()
    for day, price in (("2024-01-05", "60"), ("2024-01-08", "62"), ("2024-01-10", "65")):
        prices.put("A", day, D(price))
    for day, rate in (("2024-01-05", "1.1"), ("2024-01-08", "1.2"), ("2024-01-10", "1.25")):
        fx.put("EUR", "USD", day, D(rate))
    return MarketData(prices, fx, {"A": InstrumentInfo("A", "A", "USD", "EQUITY", None, None)})


def ledger_inputs(book: Book, quotes: MarketData):
    records = [r for r in book.store.txs.values() if r.effective]
    holdings = [Holding.from_days(s, day_states(book.store, s), quotes.instrument_currency(s.security_id, s.currency))
                for s in book.store.positions.values()]
    moves = [m for r in records for m in cash_moves_of(r.fields.trade_date, r.cash)]
    flows = [f for r in records if (f := flow_of_record(r, quotes.instrument_currency(r.fields.security_id or "")))]
    days = valuation_dates(min(r.fields.trade_date for r in records), "2024-01-10",
                           [r.fields.trade_date for r in records])
    return days, holdings, moves, flows


def a_week_of_flows() -> Book:
    book = Book(base="USD")
    book.apply(make_tx("DEPOSIT", security=None, amount=1000, currency="EUR", fx_rate="1.1", trade_date="2024-01-05"))
    book.apply(make_tx("TRANSFER_IN", security="A", quantity=10, price=50, fees=2, trade_date="2024-01-06"))
    book.apply(make_tx("BUY", security="A", quantity=5, price=62, trade_date="2024-01-08"))
    book.apply(make_tx("WITHDRAWAL", security=None, amount=200, currency="EUR", fx_rate="1.2",
                       trade_date="2024-01-09"))
    book.apply(make_tx("TRANSFER_OUT", security="A", quantity=3, price=1, trade_date="2024-01-10"))
    return book


def test_a_series_with_a_deposit_a_transfer_in_a_withdrawal_and_a_transfer_out():
    # USD base. A priced 60 (Fri 01-05), 62 (01-08), 65 (01-10); EUR/USD 1.1, 1.2 (01-08), 1.25 (01-10).
    # 01-05 DEPOSIT 1000 EUR at 1.1 → In 1100.         MV: EUR 1000 × 1.1 = 1100.
    # 01-06 (Sat) TRANSFER_IN 10 A (price 50, fees 2): In at market, 10 × 60 = 600.
    #       MV: A 10 × 60 = 600 + EUR 1100 + USD −2 = 1698.
    # 01-08 BUY 5 A @ 62: MV: A 15 × 62 = 930 + EUR 1000 × 1.2 = 1200 + USD −312 = 1818.
    # 01-09 WITHDRAWAL 200 EUR at 1.2 → Out 240. MV: 930 + 800 × 1.2 = 960 − 312 = 1578.
    # 01-10 TRANSFER_OUT 3 A (price 1): Out at market, 3 × 65 = 195.
    #       MV: A 12 × 65 = 780 + EUR 800 × 1.25 = 1000 − 312 = 1468.
    quotes = market()
    days, holdings, moves, flows = ledger_inputs(a_week_of_flows(), quotes)
    assert days == ["2024-01-05", "2024-01-06", "2024-01-08", "2024-01-09", "2024-01-10"]
    assert compute_series("USD", days, holdings, moves, flows, quotes) == [
        SeriesPoint("2024-01-05", D(1100), D(1100), D(0)),
        SeriesPoint("2024-01-06", D(1698), D(600), D(0)),
        SeriesPoint("2024-01-08", D(1818), D(0), D(0)),
        SeriesPoint("2024-01-09", D(1578), D(0), D(240)),
        SeriesPoint("2024-01-10", D(1468), D(0), D(195)),
    ]


def test_a_sub_range_takes_all_earlier_history_into_account():
    quotes = market()
    days, holdings, moves, flows = ledger_inputs(a_week_of_flows(), quotes)
    full = compute_series("USD", days, holdings, moves, flows, quotes)
    assert compute_series("USD", days[2:4], holdings, moves, flows, quotes) == full[2:4]
    assert compute_series("USD", days[-1:], holdings, moves, flows, quotes) == full[-1:]
    assert compute_series("USD", [], holdings, moves, flows, quotes) == []


def test_a_missing_price_makes_mv_null_only_while_the_security_is_held():
    # N is never priced: held 5 on 01-08, sold out on 01-10. Cash 100 USD throughout.
    quotes = market()
    days = ["2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"]
    holdings = [Holding("N", "USD", [("2024-01-08", D(5)), ("2024-01-10", D(0))])]
    moves = [CashMove("2024-01-05", "USD", D(100))]
    series = compute_series("USD", days, holdings, moves, [], quotes)
    assert [p.mv for p in series] == [D(100), None, None, D(100)]
    assert [(p.inflow, p.outflow) for p in series] == [(D(0), D(0))] * 4


def test_a_balance_without_a_rate_makes_mv_null_but_a_zero_balance_needs_none():
    # JPY has no rate: −500 JPY on 01-08 back to 0 on 01-09.
    quotes = market()
    days = ["2024-01-05", "2024-01-08", "2024-01-09"]
    moves = [CashMove("2024-01-05", "USD", D(100)), CashMove("2024-01-08", "JPY", D(-500)),
             CashMove("2024-01-09", "JPY", D(500))]
    assert [p.mv for p in compute_series("USD", days, [], moves, [], quotes)] == [D(100), None, D(100)]


def test_a_transfer_that_cannot_be_valued_makes_that_days_inflow_null():
    # TRANSFER_IN of never-priced N on 01-08 together with a 50 USD deposit: In is null, not 50.
    quotes = market()
    days = ["2024-01-05", "2024-01-08"]
    flows = [Flow("2024-01-08", "in", security_id="N", currency="USD", quantity=D(5)),
             Flow("2024-01-08", "in", amount_base=D(50)), Flow("2024-01-08", "out", amount_base=D(7))]
    series = compute_series("USD", days, [], [], flows, quotes)
    assert [(p.inflow, p.outflow) for p in series] == [(D(0), D(0)), (None, D(7))]


def test_a_transfer_in_another_currency_is_valued_at_that_days_rate():
    # 4 units of E (EUR) priced 10 EUR; EUR/USD 1.2 on 01-08 → In 4 × 10 × 1.2 = 48 USD.
    quotes = market()
    quotes.prices.put("E", "2024-01-08", D(10))
    flows = [Flow("2024-01-08", "in", security_id="E", currency="EUR", quantity=D(4))]
    assert compute_series("USD", ["2024-01-08"], [], [], flows, quotes)[0].inflow == D(48)
