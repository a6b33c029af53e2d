"""Valuing positions, cash and a portfolio; every expected figure is worked out by hand beside it."""
from __future__ import annotations

from core.fx import FxBook
from core.market import MarketData, PriceBook
from core.records import TxRecord
from core.valuation import (
    MISSING_FX,
    MISSING_PRICE,
    OK,
    CashValue,
    PositionInput,
    income_of,
    value_cash,
    value_portfolio,
    value_position,
)
from tests.core.factories import Book, D, make_tx

DAY = "2024-03-01"


def market(prices=(), rates=()) -> MarketData:
    book, fx = PriceBook(), FxBook()
    for security, day, price, *currency in prices:
        book.put(security, day, D(price), *currency)
    for from_ccy, to_ccy, day, rate in rates:
        fx.put(from_ccy, to_ccy, day, D(rate))
    return MarketData(book, fx, {})


def value(quotes, *, security="A", currency="EUR", quantity="60", cost_local="9000", cost_base="9900",
          base="USD", on=DAY):
    return value_position(security, currency, D(quantity), D(cost_local), D(cost_base), D(0), D(0),
                          base, quotes, on)


def test_published_dual_currency_vector_values_the_fifo_remainder():
    # USD base, EUR stock, FIFO. BUY 100 @ 150 at 1.10: lot cost 15000 EUR / 16500 USD.
    # SELL 40 @ 170 at 1.20: 60 left, cost 9000 EUR / 9900 USD;
    # realized 6800 − 6000 = 800 EUR, 6800 × 1.20 − 6600 = 1560 USD.
    # Price 180, EUR/USD 1.20: mv 60 × 180 = 10800 EUR, × 1.20 = 12960 USD;
    # unrealized 10800 − 9000 = 1800 EUR, 12960 − 9900 = 3060 USD.
    book = Book(base="USD", method="FIFO")
    book.apply(make_tx("BUY", quantity=100, price=150, currency="EUR", fx_rate="1.10", trade_date="2024-01-02"))
    book.apply(make_tx("SELL", quantity=40, price=170, currency="EUR", fx_rate="1.20", trade_date="2024-02-01"))
    state = book.position()
    quotes = market([("SEC", "2024-02-29", "180")], [("EUR", "USD", "2024-02-29", "1.20")])
    p = PositionInput.from_state(state)
    v = value_position(p.security_id, p.currency, p.quantity, p.cost_local, p.cost_base,
                       p.realized_local, p.realized_base, "USD", quotes, DAY)
    assert (v.quantity, v.cost_local, v.cost_base) == (D(60), D(9000), D(9900))
    assert (v.realized_local, v.realized_base) == (D(800), D(1560))
    assert (v.price, v.price_date, v.fx) == (D(180), "2024-02-29", D("1.20"))
    assert (v.mv_local, v.mv_base) == (D(10800), D(12960))
    assert (v.unrealized_local, v.unrealized_base) == (D(1800), D(3060))
    assert v.valuation_status == OK


def test_a_missing_price_leaves_every_market_figure_null_and_says_missing_price():
    # No price at all (and no rate either: missing_price wins).
    v = value(market())
    assert v.valuation_status == MISSING_PRICE
    assert (v.price, v.price_date, v.fx) == (None, None, None)
    assert (v.mv_local, v.mv_base, v.unrealized_local, v.unrealized_base) == (None, None, None, None)
    assert (v.quantity, v.cost_local, v.cost_base) == (D(60), D(9000), D(9900))


def test_a_price_dated_after_the_valuation_date_is_not_used():
    v = value(market([("A", "2024-03-04", "180")], [("EUR", "USD", "2024-01-02", "1.2")]))
    assert v.valuation_status == MISSING_PRICE


def test_a_missing_rate_still_gives_the_local_figures_and_says_missing_fx():
    # 60 × 180 = 10800 EUR, unrealized 10800 − 9000 = 1800 EUR; no EUR/USD rate.
    v = value(market([("A", "2024-02-29", "180")]))
    assert v.valuation_status == MISSING_FX
    assert (v.price, v.price_date, v.fx) == (D(180), "2024-02-29", None)
    assert (v.mv_local, v.unrealized_local) == (D(10800), D(1800))
    assert (v.mv_base, v.unrealized_base) == (None, None)


def test_a_closed_position_is_worth_zero_without_any_market_data():
    v = value_position("A", "EUR", D(0), D(0), D(0), D(-50), D(-55), "USD", market(), DAY)
    assert v.valuation_status == OK
    assert (v.price, v.price_date, v.fx) == (None, None, None)
    assert (v.mv_local, v.mv_base, v.unrealized_local, v.unrealized_base) == (0, 0, 0, 0)
    assert (v.realized_local, v.realized_base) == (D(-50), D(-55))


def test_a_price_quoted_in_another_currency_is_converted_to_the_instruments_currency_first():
    # EUR instrument priced 150 GBP; GBP/EUR 1.2 → 180 EUR; EUR/USD 1.1.
    # mv 60 × 180 = 10800 EUR, × 1.1 = 11880 USD; unrealized 1800 EUR, 11880 − 9900 = 1980 USD.
    quotes = market([("A", "2024-02-29", "150", "GBP")],
                    [("GBP", "EUR", "2024-03-01", "1.2"), ("EUR", "USD", "2024-03-01", "1.1")])
    v = value(quotes)
    assert v.valuation_status == OK
    assert (v.price, v.price_date, v.fx) == (D(180), "2024-02-29", D("1.1"))
    assert (v.mv_local, v.mv_base) == (D(10800), D(11880))
    assert (v.unrealized_local, v.unrealized_base) == (D(1800), D(1980))


def test_a_price_in_another_currency_without_a_rate_to_convert_it_says_missing_fx():
    # The price exists; the GBP→EUR rate does not: no local figures, but EUR/USD is reported.
    quotes = market([("A", "2024-02-29", "150", "GBP")], [("EUR", "USD", "2024-03-01", "1.1")])
    v = value(quotes)
    assert v.valuation_status == MISSING_FX
    assert (v.price, v.price_date, v.fx) == (None, "2024-02-29", D("1.1"))
    assert (v.mv_local, v.mv_base, v.unrealized_local, v.unrealized_base) == (None, None, None, None)


def test_a_short_position_has_negative_value_and_gains_when_the_price_falls():
    # Short 10 carried at −1000 (proceeds 100 per unit), base USD, price 90:
    # mv −900, unrealized −900 − (−1000) = +100.
    v = value(market([("A", "2024-03-01", "90")]), currency="USD", quantity="-10",
              cost_local="-1000", cost_base="-1000")
    assert (v.mv_local, v.mv_base, v.fx) == (D(-900), D(-900), D(1))
    assert (v.unrealized_local, v.unrealized_base) == (D(100), D(100))


def test_cash_is_valued_at_its_rate_to_base_and_an_overdraft_counts_negative():
    quotes = market(rates=[("EUR", "USD", "2024-02-01", "1.1"), ("USD", "GBP", "2024-02-01", "0.8")])
    assert value_cash("EUR", D(100), "USD", quotes, DAY) == _cash("EUR", "100", "1.1", "110.0", OK)
    assert value_cash("GBP", D(-40), "USD", quotes, DAY) == _cash("GBP", "-40", "1.25", "-50.00", OK)  # 1 / 0.8
    assert value_cash("USD", D(7), "USD", quotes, DAY) == _cash("USD", "7", "1", "7", OK)


def test_cash_without_a_rate_says_missing_fx_unless_the_balance_is_zero():
    quotes = market()
    assert value_cash("JPY", D(-500), "USD", quotes, DAY) == _cash("JPY", "-500", None, None, MISSING_FX)
    assert value_cash("JPY", D(0), "USD", quotes, DAY) == _cash("JPY", "0", None, "0", OK)


def _cash(currency, balance, fx, mv_base, status):
    return CashValue(currency, D(balance), None if fx is None else D(fx), None if mv_base is None else D(mv_base),
                     status)


def _positions(*rows):
    return [PositionInput(sid, ccy, D(q), D(cl), D(cb), D(rl), D(rb)) for sid, ccy, q, cl, cb, rl, rb in rows]


def test_weights_are_shares_of_securities_plus_cash_and_totals_add_up():
    # USD base. A: 10 × 30 = 300 USD (cost 250). B: 20 × 10 EUR = 200 EUR × 1.5 = 300 USD (cost 280 USD).
    # C closed (realized 5). Cash 500 USD + (−100) EUR × 1.5 = −150 → 350. Total 300 + 300 + 350 = 950.
    quotes = market([("A", DAY, "30"), ("B", DAY, "10")], [("EUR", "USD", DAY, "1.5")])
    valued = value_portfolio(
        _positions(("A", "USD", 10, 250, 250, 0, 0), ("B", "EUR", 20, 190, 280, 0, 2), ("C", "USD", 0, 0, 0, 5, 5)),
        {"USD": D(500), "EUR": D(-100)}, "USD", quotes, DAY, income_base=D("12.5"))
    weights = {v.security_id: v.weight for v in valued.positions}
    assert weights == {"A": 300 / 950, "B": 300 / 950, "C": 0.0}
    assert (valued.securities_mv_base, valued.cash_mv_base, valued.total_mv_base) == (D(600), D(350), D(950))
    assert (valued.known_securities_mv_base, valued.known_cash_mv_base) == (D(600), D(350))
    assert valued.complete is True
    assert valued.cost_base == D(530)                  # 250 + 280
    assert valued.unrealized_base == D(70)             # (300 − 250) + (300 − 280)
    assert valued.realized_base == D(7)                # 0 + 2 + 5
    assert valued.income_base == D("12.5")
    assert valued.total_base == D(950)


def test_with_a_figure_missing_totals_are_null_and_weights_cover_the_known_total():
    # A: 300 USD known. N never priced. Cash 100 USD known, 1000 JPY without a rate.
    # Known total 400: A weighs 0.75; N has no weight.
    quotes = market([("A", DAY, "30")])
    valued = value_portfolio(_positions(("A", "USD", 10, 250, 250, 0, 0), ("N", "USD", 5, 500, 500, 0, 0)),
                             {"USD": D(100), "JPY": D(1000)}, "USD", quotes, DAY)
    weights = {v.security_id: v.weight for v in valued.positions}
    assert weights == {"A": 0.75, "N": None}
    assert (valued.securities_mv_base, valued.cash_mv_base, valued.total_mv_base) == (None, None, None)
    assert (valued.known_securities_mv_base, valued.known_cash_mv_base) == (D(300), D(100))
    assert valued.complete is False
    assert valued.unrealized_base is None
    assert valued.cost_base == D(750)


def test_only_cash_missing_keeps_the_securities_total():
    quotes = market([("A", DAY, "30")])
    valued = value_portfolio(_positions(("A", "USD", 10, 250, 250, 0, 0)), {"JPY": D(1000)}, "USD", quotes, DAY)
    assert (valued.securities_mv_base, valued.cash_mv_base, valued.total_mv_base) == (D(300), None, None)
    assert valued.unrealized_base == D(50)
    assert valued.complete is False


def test_income_is_net_dividends_and_interest_at_the_rate_each_was_booked_with():
    # DIVIDEND 100 EUR − 10 fees at 1.1 = 99; INTEREST 20 USD at 1 = 20; FEE, TAX and a
    # cancelled dividend do not count. Income 119 USD.
    records = [
        TxRecord(make_tx("DIVIDEND", amount=100, fees=10, currency="EUR"), 0, fx=D("1.1")),
        TxRecord(make_tx("INTEREST", amount=20, security=None), 1, fx=D(1)),
        TxRecord(make_tx("FEE", amount=5, security=None), 2, fx=D(1)),
        TxRecord(make_tx("TAX", amount=7, security=None), 3, fx=D(1)),
        TxRecord(make_tx("DIVIDEND", amount=1000, status="CANCELLED", version=2), 4, fx=None),
    ]
    assert income_of(records) == D(119)
