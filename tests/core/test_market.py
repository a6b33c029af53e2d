"""Market data: prices latest on or before a date, corrections, the latest rate, price-currency conversion."""
from __future__ import annotations

from core.fx import FxBook
from core.market import (
    InstrumentInfo,
    MarketData,
    PriceBook,
    PricePoint,
    PriceQuote,
    price_cursor,
)
from tests.core.factories import D


def prices_of(*points) -> PriceBook:
    book = PriceBook()
    for security, day, price, *currency in points:
        book.put(security, day, D(price), *currency)
    return book


def test_latest_price_is_the_one_on_or_before_the_date_and_none_before_the_first():
    book = prices_of(("A", "2024-01-05", "12"), ("A", "2024-01-02", "10"))
    assert book.latest("A", "2024-01-01") is None
    assert book.latest("A", "2024-01-02") == PricePoint("2024-01-02", D(10), None)
    assert book.latest("A", "2024-01-04") == PricePoint("2024-01-02", D(10), None)
    assert book.latest("A", "2024-03-01") == PricePoint("2024-01-05", D(12), None)
    assert book.latest("A") == PricePoint("2024-01-05", D(12), None)
    assert book.latest("B", "2024-03-01") is None


def test_a_later_price_for_the_same_security_and_date_corrects_the_earlier():
    book = prices_of(("A", "2024-01-02", "10"), ("A", "2024-01-02", "11", "USD"))
    assert book.latest("A", "2024-01-02") == PricePoint("2024-01-02", D(11), "USD")
    assert len(book) == 1
    assert book.dates("A") == ["2024-01-02"]


def test_next_date_after_is_the_first_price_date_strictly_later():
    book = prices_of(("A", "2024-01-02", "10"), ("A", "2024-01-05", "12"))
    assert book.next_date_after("A", "2024-01-01") == "2024-01-02"
    assert book.next_date_after("A", "2024-01-02") == "2024-01-05"
    assert book.next_date_after("A", "2024-01-05") is None
    assert book.next_date_after("B", "2024-01-05") is None


def test_fx_without_a_date_is_the_latest_rate():
    fx = FxBook()
    fx.put("EUR", "USD", "2024-01-02", D("1.10"))
    fx.put("EUR", "USD", "2024-06-03", D("1.20"))
    market = MarketData(PriceBook(), fx, {})
    assert market.fx("EUR", "USD", None) == D("1.20")
    assert market.fx("EUR", "USD", "2024-03-01") == D("1.10")
    assert market.fx("USD", "USD", None) == D(1)
    assert market.fx("JPY", "USD", None) is None


def test_a_price_in_another_currency_is_converted_at_the_valuation_dates_rate():
    # Price 100 GBP on 01-02 for a EUR instrument; GBP/EUR 1.15 on 01-02, 1.20 on 01-04.
    # Valued on 01-04: 100 × 1.20 = 120 EUR (the valuation date's rate, not the price date's).
    fx = FxBook()
    fx.put("GBP", "EUR", "2024-01-02", D("1.15"))
    fx.put("GBP", "EUR", "2024-01-04", D("1.20"))
    market = MarketData(prices_of(("A", "2024-01-02", "100", "GBP")), fx, {})
    quote = market.price("A", "EUR", "2024-01-04")
    assert (quote.price, quote.day) == (D(120), "2024-01-02")
    assert market.price("A", "EUR", "2024-01-03").price == D(115)
    assert market.price("A", "EUR", None).price == D(120)


def test_a_price_in_another_currency_without_a_rate_is_known_but_has_no_instrument_price():
    market = MarketData(prices_of(("A", "2024-01-02", "100", "GBP")), FxBook(), {})
    assert market.price("A", "EUR", "2024-01-04") == PriceQuote(None, "2024-01-02",
                                                                PricePoint("2024-01-02", D(100), "GBP"))


def test_a_price_in_the_instruments_currency_needs_no_rate():
    market = MarketData(prices_of(("A", "2024-01-02", "100", "EUR"), ("B", "2024-01-02", "7")), FxBook(), {})
    assert market.price("A", "EUR", "2024-01-02").price == D(100)
    assert market.price("B", "EUR", "2024-01-02").price == D(7)  # no currency: the instrument's


def test_instrument_currency_falls_back_when_the_instrument_is_unknown():
    market = MarketData(PriceBook(), FxBook(), {"A": InstrumentInfo("A", "A", "EUR", "EQUITY", None, "FR")})
    assert market.instrument("A").country == "FR"
    assert market.instrument_currency("A", "USD") == "EUR"
    assert market.instrument_currency("Z", "USD") == "USD"


def test_a_price_cursor_gives_the_same_quotes_as_point_lookups_on_ascending_dates():
    fx = FxBook()
    fx.put("GBP", "EUR", "2024-01-03", D("1.15"))
    market = MarketData(prices_of(("A", "2024-01-03", "10"), ("A", "2024-01-05", "11"),
                                  ("A", "2024-01-08", "100", "GBP"), ("A", "2024-01-10", "12")), fx, {})
    days = ["2024-01-01", "2024-01-03", "2024-01-04", "2024-01-09", "2024-01-10", "2024-01-11"]
    cursor = price_cursor(market, "A", "EUR")
    assert [cursor(d) for d in days] == [market.price("A", "EUR", d) for d in days]

    class PointOnly:  # quotes without a cursor of their own
        price, fx, instrument = market.price, market.fx, market.instrument
    fallback = price_cursor(PointOnly(), "A", "EUR")
    assert [fallback(d) for d in days] == [market.price("A", "EUR", d) for d in days]
