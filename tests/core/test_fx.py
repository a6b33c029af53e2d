"""The FX book: latest quote on or before a date, derived inverses, corrections, no cross rates."""
from __future__ import annotations

import pytest

from core.fx import FxBook
from tests.core.factories import D


def book_of(*quotes) -> FxBook:
    fx = FxBook()
    for from_ccy, to_ccy, day, rate in quotes:
        fx.put(from_ccy, to_ccy, day, D(rate))
    return fx


@pytest.mark.parametrize("on, expected", [
    ("2024-01-01", None),     # before the first quote: nothing
    ("2024-01-02", "1.10"),   # the quote of that day
    ("2024-01-04", "1.10"),   # latest on or before: 01-02
    ("2024-01-05", "1.20"),   # the quote of that day
    ("2024-12-31", "1.20"),   # latest on or before: 01-05
])
def test_rate_is_the_latest_quote_on_or_before_the_date(on, expected):
    fx = book_of(("EUR", "USD", "2024-01-05", "1.20"), ("EUR", "USD", "2024-01-02", "1.10"))
    assert fx.rate("EUR", "USD", on) == (None if expected is None else D(expected))


def test_quote_tells_the_date_the_rate_comes_from():
    fx = book_of(("EUR", "USD", "2024-01-02", "1.10"))
    assert fx.quote("EUR", "USD", "2024-01-09") == (D("1.10"), "2024-01-02")


def test_inverse_is_derived_when_only_the_other_direction_is_quoted():
    # 1 / 1.25 = 0.8 exactly; 1 / 1.1 = 0.90909…  to 34 significant digits, the 35th (9) rounds up.
    fx = book_of(("EUR", "USD", "2024-01-02", "1.25"), ("GBP", "USD", "2024-01-02", "1.1"))
    assert fx.rate("USD", "EUR", "2024-01-03") == D("0.8")
    assert fx.rate("USD", "GBP", "2024-01-03") == D("0.9090909090909090909090909090909091")


def test_when_both_directions_are_quoted_the_more_recent_quote_wins():
    # EUR/USD 1.25 on 01-02, USD/EUR 0.5 on 01-04.
    fx = book_of(("EUR", "USD", "2024-01-02", "1.25"), ("USD", "EUR", "2024-01-04", "0.5"))
    assert fx.rate("EUR", "USD", "2024-01-03") == D("1.25")  # only the direct quote exists by then
    assert fx.rate("EUR", "USD", "2024-01-05") == D(2)       # 1 / 0.5: inverse of the newer quote
    assert fx.rate("USD", "EUR", "2024-01-03") == D("0.8")   # 1 / 1.25
    assert fx.rate("USD", "EUR", "2024-01-05") == D("0.5")   # direct and newer


def test_when_both_directions_are_quoted_on_the_same_date_the_direct_quote_wins():
    # EUR/USD 1.25 and USD/EUR 0.5 both on 01-02 (inconsistent on purpose).
    fx = book_of(("EUR", "USD", "2024-01-02", "1.25"), ("USD", "EUR", "2024-01-02", "0.5"))
    assert fx.rate("EUR", "USD", "2024-01-02") == D("1.25")  # not 1 / 0.5 = 2
    assert fx.rate("USD", "EUR", "2024-01-02") == D("0.5")   # not 1 / 1.25 = 0.8


def test_a_later_quote_for_the_same_pair_and_date_replaces_the_earlier_one():
    # 1.25 corrected to 1.6 on 01-02 → 1.6, inverse 1 / 1.6 = 0.625; still one stored quote.
    fx = book_of(("EUR", "USD", "2024-01-02", "1.25"), ("EUR", "USD", "2024-01-02", "1.6"))
    assert fx.rate("EUR", "USD", "2024-01-02") == D("1.6")
    assert fx.rate("USD", "EUR", "2024-01-07") == D("0.625")
    assert len(fx) == 1


def test_a_correction_of_an_older_date_does_not_hide_a_newer_quote():
    fx = book_of(("EUR", "USD", "2024-01-02", "1.25"), ("EUR", "USD", "2024-01-05", "1.5"),
                 ("EUR", "USD", "2024-01-02", "1.3"))
    assert fx.rate("EUR", "USD", "2024-01-04") == D("1.3")
    assert fx.rate("EUR", "USD", "2024-01-06") == D("1.5")


def test_no_cross_rate_is_derived_through_a_third_currency():
    fx = book_of(("EUR", "USD", "2024-01-02", "1.25"), ("USD", "GBP", "2024-01-02", "0.8"))
    assert fx.rate("EUR", "GBP", "2024-01-03") is None
    assert fx.rate("GBP", "EUR", "2024-01-03") is None


def test_same_currency_is_one_on_any_date_without_any_quote():
    assert FxBook().rate("USD", "USD", "1999-01-01") == D(1)
    assert FxBook().quote("JPY", "JPY", "2024-01-02") == (D(1), "2024-01-02")


def test_unknown_pair_has_no_rate():
    assert FxBook().rate("EUR", "USD", "2024-01-02") is None
