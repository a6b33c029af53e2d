"""Named periods anchored on an as-of date, and clamping to the first transaction.

Expected dates are counted on the calendar by hand for as_of = Wednesday
2024-05-15 (2024 is a leap year); the 1M, 3M and 1Y starts are also the ones
the medium scenario's expected.json lists for that as_of.
"""
from datetime import date

import numpy as np
import pytest

from core.analytics.periods import clamp_period, resolve_period, valuation_slice

AS_OF = date(2024, 5, 15)


@pytest.mark.parametrize("name, start", [
    ("MTD", date(2024, 5, 1)),
    ("QTD", date(2024, 4, 1)),     # Q2 starts on 1 April
    ("YTD", date(2024, 1, 1)),
    ("1M", date(2024, 4, 16)),     # 15 days of April (16–30) + 15 of May = 30 days
    ("3M", date(2024, 2, 15)),     # Feb 15–29 (15) + March (31) + April (30) + May 1–15 (15) = 91 days
    ("6M", date(2023, 11, 16)),    # Nov 16 + 182 days = May 16, so May 15 is day 182
    ("1Y", date(2023, 5, 17)),     # 2023-05-15 + 366 days (29 Feb between) = as_of; 365 days back is the 17th
    ("2Y", date(2022, 5, 17)),     # 2022-05-15 → as_of is 365 + 366 = 731 days; 729 back is the 17th
    ("3Y", date(2021, 5, 17)),     # 2021-05-15 → as_of is 365 + 365 + 366 = 1096 days; 1094 back
    ("10Y", date(2014, 5, 19)),    # 2014-05-15 → as_of is 3650 + 3 leap days = 3653; 3649 back
])
def test_each_named_period_starts_where_the_calendar_says_and_ends_on_as_of(name, start):
    assert resolve_period(name, AS_OF) == (start, AS_OF)


def test_since_inception_has_no_start_of_its_own():
    assert resolve_period("SI", AS_OF) == (None, AS_OF)


def test_quarter_to_date_starts_on_the_first_day_of_each_quarter():
    assert resolve_period("QTD", date(2024, 3, 31))[0] == date(2024, 1, 1)
    assert resolve_period("QTD", date(2024, 7, 1))[0] == date(2024, 7, 1)
    assert resolve_period("QTD", date(2024, 12, 31))[0] == date(2024, 10, 1)


def test_a_calendar_year_period_is_the_whole_year():
    assert resolve_period("Y2023", AS_OF) == (date(2023, 1, 1), date(2023, 12, 31))


def test_the_current_calendar_year_ends_on_as_of():
    assert resolve_period("Y2024", AS_OF) == (date(2024, 1, 1), AS_OF)


def test_period_names_ignore_case_and_surrounding_spaces():
    assert resolve_period(" ytd ", AS_OF) == resolve_period("YTD", AS_OF)
    assert resolve_period("y2023", AS_OF) == resolve_period("Y2023", AS_OF)


@pytest.mark.parametrize("name", ["", "1W", "0Y", "-1Y", "12M", "2M", "Y23", "Y0000", "Y20234", "XTD", "1Y2", "SIX"])
def test_an_unknown_period_name_is_refused_with_the_accepted_forms(name):
    with pytest.raises(ValueError, match=r"unknown period .*SI, MTD, QTD, YTD, 1M, 3M, 6M, nY .*Y<year>"):
        resolve_period(name, AS_OF)


def test_a_period_reaching_before_year_one_is_refused():
    with pytest.raises(ValueError):
        resolve_period("5000Y", AS_OF)


def test_a_period_starting_before_the_first_transaction_starts_on_it():
    assert clamp_period(date(2023, 5, 17), AS_OF, date(2024, 2, 1)) == (date(2024, 2, 1), AS_OF)


def test_a_period_starting_after_the_first_transaction_keeps_its_start():
    assert clamp_period(date(2024, 4, 16), AS_OF, date(2023, 1, 16)) == (date(2024, 4, 16), AS_OF)


def test_since_inception_starts_on_the_first_transaction():
    assert clamp_period(None, AS_OF, date(2023, 1, 16)) == (date(2023, 1, 16), AS_OF)


def test_a_period_that_ends_before_the_first_transaction_is_empty():
    assert clamp_period(date(2023, 1, 1), date(2023, 12, 31), date(2024, 2, 1)) is None


def test_a_period_ending_on_the_first_transaction_holds_that_one_day():
    assert clamp_period(date(2023, 1, 1), date(2024, 2, 1), date(2024, 2, 1)) == (date(2024, 2, 1), date(2024, 2, 1))


def test_a_portfolio_without_transactions_has_no_period():
    assert clamp_period(None, AS_OF, None) is None


def test_a_calendar_year_after_as_of_is_empty():
    from_, to = resolve_period("Y2025", AS_OF)
    assert clamp_period(from_, to, date(2023, 1, 16)) is None


VALUATION_DATES = np.array(["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"], dtype="datetime64[D]")


def test_a_period_holds_the_valuation_dates_between_its_ends_both_included():
    assert valuation_slice(VALUATION_DATES, date(2024, 1, 5), date(2024, 1, 8)) == slice(1, 3)
    assert valuation_slice(VALUATION_DATES, date(2024, 1, 6), date(2024, 1, 31)) == slice(2, 4)


def test_a_weekend_without_transactions_holds_no_valuation_date():
    period = valuation_slice(VALUATION_DATES, date(2024, 1, 6), date(2024, 1, 7))
    assert period.start == period.stop
