"""Daily portfolio returns (Portfolio Performance's formula) and benchmark returns.

Worked case, by hand with fractions, Monday 2024-01-01 to Thursday 2024-01-04:
  day 1: deposit 1000, MV 1000   r1 = (1000 + 0) / (0 + 1000) − 1    = 0
  day 2: no flow,      MV 1010   r2 = 1010 / 1000 − 1                = 1/100
  day 3: deposit 500,  MV 1530   r3 = 1530 / (1010 + 500) − 1        = 20/1510 = 2/151
  day 4: withdraw 200, MV 1320   r4 = (1320 + 200) / (1530 + 0) − 1  = −10/1530 = −1/153
"""
from fractions import Fraction

import numpy as np
import pytest

from core.analytics.returns import benchmark_returns, daily_returns, prices_on_or_before

NAN = np.nan
MV = np.array([1000.0, 1010.0, 1530.0, 1320.0])
INFLOW = np.array([1000.0, 0.0, 500.0, 0.0])
OUTFLOW = np.array([0.0, 0.0, 0.0, 200.0])
HAND_RETURNS = [Fraction(0), Fraction(1, 100), Fraction(2, 151), Fraction(-1, 153)]


def test_each_day_measures_its_value_plus_outflows_against_yesterdays_value_plus_inflows():
    r = daily_returns(MV, INFLOW, OUTFLOW)
    assert r.tolist() == pytest.approx([float(x) for x in HAND_RETURNS], rel=1e-12, abs=1e-15)


def test_the_first_valuation_date_starts_from_nothing_so_it_measures_the_first_inflow():
    # MV_{−1} = 0: a 1000 deposit worth 990 by the close lost 1 %.
    assert daily_returns(np.array([990.0]), np.array([1000.0]), np.array([0.0])).tolist() == pytest.approx([-0.01])


def test_a_zero_denominator_gives_a_zero_return():
    # Nothing held and nothing paid in (e.g. after a full withdrawal).
    r = daily_returns(np.array([0.0, 0.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0]))
    assert r.tolist() == [0.0, 0.0]


def test_an_unknown_value_makes_the_returns_that_need_it_unknown():
    # MV_2 unknown: r2 needs it as MV_t, r3 as MV_{t−1}; r4 needs neither.
    mv = np.array([1000.0, NAN, 1530.0, 1320.0])
    r = daily_returns(mv, INFLOW, OUTFLOW)
    assert r[0] == 0.0 and np.isnan(r[1]) and np.isnan(r[2])
    assert r[3] == pytest.approx(-1 / 153, rel=1e-12)


def test_an_unknown_value_over_a_zero_denominator_stays_unknown():
    # A missing price never counts as zero, even when nothing was invested.
    r = daily_returns(np.array([NAN]), np.array([0.0]), np.array([0.0]))
    assert np.isnan(r[0])


def test_an_unknown_flow_makes_that_days_return_unknown():
    r = daily_returns(MV, np.array([1000.0, 0.0, NAN, 0.0]), OUTFLOW)
    assert np.isnan(r[2]) and not np.isnan(r[3])


def days(*isos: str) -> np.ndarray:
    return np.array(isos, dtype="datetime64[D]")


def test_prices_carry_forward_to_days_without_a_price_and_are_unknown_before_the_first():
    price_dates, prices = days("2024-01-02", "2024-01-04"), np.array([100.0, 110.0])
    level = prices_on_or_before(days("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05"), price_dates, prices)
    assert np.isnan(level[0])
    assert level[1:].tolist() == [100.0, 100.0, 110.0]


def test_benchmark_returns_link_prices_from_one_valuation_date_to_the_next():
    # Valuation dates Fri 5th, Mon 8th, Tue 9th; the index is also priced on
    # Saturday the 6th, which is not a valuation date and so is skipped over:
    # b(8th) = 104 / 100 − 1, b(9th) = 91 / 104 − 1 = −1/8.
    valuation = days("2024-01-05", "2024-01-08", "2024-01-09")
    price_dates = days("2024-01-05", "2024-01-06", "2024-01-08", "2024-01-09")
    b = benchmark_returns(valuation, price_dates, np.array([100.0, 102.0, 104.0, 91.0]))
    assert np.isnan(b[0])  # the first valuation date has no previous one
    assert b[1:].tolist() == pytest.approx([0.04, -0.125], rel=1e-12)


def test_a_benchmark_day_without_a_price_uses_the_last_price_and_earns_nothing():
    valuation = days("2024-01-01", "2024-01-02", "2024-01-03")
    b = benchmark_returns(valuation, days("2024-01-01", "2024-01-03"), np.array([100.0, 105.0]))
    assert b[1:].tolist() == pytest.approx([0.0, 0.05], rel=1e-12)


def test_benchmark_returns_are_unknown_until_both_prices_exist():
    valuation = days("2024-01-01", "2024-01-02", "2024-01-03")
    b = benchmark_returns(valuation, days("2024-01-02", "2024-01-03"), np.array([50.0, 55.0]))
    assert np.isnan(b[0]) and np.isnan(b[1])
    assert b[2] == pytest.approx(0.1, rel=1e-12)
