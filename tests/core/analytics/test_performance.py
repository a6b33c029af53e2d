"""TWR and MWR of a period, each figure worked out by hand in the comments.

The four-day case (Mon 2024-01-01 … Thu 2024-01-04), r_t as in test_returns:
  day 1: deposit 1000, MV 1000   r1 = 0
  day 2:               MV 1010   r2 = 1/100
  day 3: deposit 500,  MV 1530   r3 = 2/151
  day 4: withdraw 200, MV 1320   r4 = −1/153
"""
from datetime import date
from fractions import Fraction

import numpy as np
import pytest

from core.analytics.performance import performance
from core.analytics.returns import daily_returns

NAN = np.nan
DATES = np.array(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], dtype="datetime64[D]")
MV = np.array([1000.0, 1010.0, 1530.0, 1320.0])
INFLOW = np.array([1000.0, 0.0, 500.0, 0.0])
OUTFLOW = np.array([0.0, 0.0, 0.0, 200.0])
EXPECTED_KEYS = {"from", "to", "days", "twr", "twr_annualized", "mwr_annualized", "mwr_period"}


def perf(from_: date, to: date, dates=DATES, mv=MV, inflow=INFLOW, outflow=OUTFLOW) -> dict:
    return performance(dates, mv, inflow, outflow, daily_returns(mv, inflow, outflow), from_, to)


def test_twr_links_the_daily_returns_of_the_whole_worked_case():
    # (1 + 0)(1 + 1/100)(1 + 2/151)(1 − 1/153) = (101/100)(153/151)(152/153)
    #   = 101·152 / (100·151) = 15352/15100, so TWR = 252/15100 = 63/3775 ≈ 0.016689.
    result = perf(date(2024, 1, 1), date(2024, 1, 4))
    assert set(result) == EXPECTED_KEYS
    assert result["from"] == date(2024, 1, 1) and result["to"] == date(2024, 1, 4) and result["days"] == 4
    assert result["twr"] == pytest.approx(float(Fraction(63, 3775)), rel=1e-12)
    assert result["twr_annualized"] is None  # 4 days ≤ 366


def test_mwr_of_the_whole_worked_case_solves_the_xirr_equation_of_its_flows():
    # No valuation date before F, so no opening value. Flows: −1000 on day 1,
    # −500 on day 3, and on day 4 the withdrawal +200 netted with MV_T +1320.
    result = perf(date(2024, 1, 1), date(2024, 1, 4))
    irr = result["mwr_annualized"]
    npv = -1000 - 500 / (1 + irr) ** (2 / 365) + 1520 / (1 + irr) ** (3 / 365)
    assert abs(npv) < 1e-9
    # The period rate compounds the annual rate over T − F = 3 days.
    assert result["mwr_period"] == pytest.approx((1 + irr) ** (3 / 365) - 1, rel=1e-12)
    # 20 gained on 1000 held three days and 500 held one day: between 20/1500 and 20/1000.
    assert 20 / 1500 < result["mwr_period"] < 20 / 1000


def test_a_later_period_starts_from_the_value_of_the_valuation_date_before_it():
    # [day 3, day 4]: TWR = (153/151)(152/153) − 1 = 1/151.
    # MWR: −MV(day 2) = −1010 at F netted with the −500 deposit = −1510 on day 3;
    # +200 + 1320 = +1520 on day 4. One day apart, so the period rate is
    # 1520/1510 − 1 = 1/151 and the annual rate (1520/1510)^365 − 1.
    result = perf(date(2024, 1, 3), date(2024, 1, 4))
    assert result["days"] == 2
    assert result["twr"] == pytest.approx(1 / 151, rel=1e-12)
    assert result["mwr_period"] == pytest.approx(1 / 151, rel=1e-9)
    assert result["mwr_annualized"] == pytest.approx((1520 / 1510) ** 365 - 1, rel=1e-9)


# Two years, three valuation dates: 1000 deposited, +10 % a year twice.
YEARS = np.array(["2021-01-04", "2022-01-04", "2023-01-04"], dtype="datetime64[D]")
YEARS_MV = np.array([1000.0, 1100.0, 1210.0])
NO_FLOWS = np.zeros(3)
YEARS_IN = np.array([1000.0, 0.0, 0.0])


def test_a_period_longer_than_a_year_is_annualized_over_its_days():
    # [2021-01-05, 2023-01-04]: r = 1100/1000 − 1 and 1210/1100 − 1, TWR = 1.1² − 1 = 0.21;
    # days = 365 + 365 = 730 > 366, annualized 1.21^(365.25/730) − 1.
    # MWR: −1000 (the value on 2021-01-04) at F, +1210 at T, 729 days later:
    # annual rate 1.21^(365/729) − 1, period rate 1.21 − 1 = 0.21.
    result = perf(date(2021, 1, 5), date(2023, 1, 4), YEARS, YEARS_MV, YEARS_IN, NO_FLOWS)
    assert result["days"] == 730
    assert result["twr"] == pytest.approx(0.21, rel=1e-12)
    assert result["twr_annualized"] == pytest.approx(1.21 ** (365.25 / 730) - 1, rel=1e-12)
    assert result["mwr_annualized"] == pytest.approx(1.21 ** (365 / 729) - 1, rel=1e-12)
    assert result["mwr_period"] == pytest.approx(0.21, rel=1e-12)


def test_a_period_of_366_days_is_not_annualized_and_one_of_367_is():
    # 2022-01-04 … 2023-01-04 is 366 days counting both ends; one day earlier makes 367.
    short = perf(date(2022, 1, 4), date(2023, 1, 4), YEARS, YEARS_MV, YEARS_IN, NO_FLOWS)
    long = perf(date(2022, 1, 3), date(2023, 1, 4), YEARS, YEARS_MV, YEARS_IN, NO_FLOWS)
    assert short["days"] == 366 and short["twr_annualized"] is None
    assert long["days"] == 367
    assert long["twr_annualized"] == pytest.approx(1.21 ** (365.25 / 367) - 1, rel=1e-12)


def test_mv_t_is_the_value_of_the_last_valuation_date_on_or_before_t_placed_at_t():
    # T = 2023-06-30 has no valuation date: MV_T = 1210 (2023-01-04) but dated T.
    # From 2021-01-05: −1000 then +1210 after 906 days; period rate still 0.21.
    result = perf(date(2021, 1, 5), date(2023, 6, 30), YEARS, YEARS_MV, YEARS_IN, NO_FLOWS)
    assert result["mwr_annualized"] == pytest.approx(1.21 ** (365 / 906) - 1, rel=1e-12)
    assert result["mwr_period"] == pytest.approx(0.21, rel=1e-12)


def test_an_opening_value_of_zero_or_less_is_left_out_of_mwr():
    # Day 0 deposit 100 → withdrawn on day 1 with a 150 overdraft (MV −50);
    # day 2 deposit 1000 (MV 1000); 365 days later MV 1100. For [day 2, T] the
    # −50 opening is left out: −1000 then +1100 a year later = 10 %.
    dates = np.array(["2022-01-03", "2022-01-04", "2022-01-05", "2023-01-05"], dtype="datetime64[D]")
    mv = np.array([100.0, -50.0, 1000.0, 1100.0])
    inflow = np.array([100.0, 0.0, 1000.0, 0.0])
    outflow = np.array([0.0, 100.0, 0.0, 0.0])
    result = perf(date(2022, 1, 5), date(2023, 1, 5), dates, mv, inflow, outflow)
    assert result["mwr_annualized"] == pytest.approx(0.10, rel=1e-12)
    assert result["mwr_period"] == pytest.approx(0.10, rel=1e-12)


def test_a_period_without_a_valuation_date_has_no_figures():
    # Saturday and Sunday, no transaction: no valuation date.
    result = perf(date(2024, 1, 6), date(2024, 1, 7))
    assert result == {"from": date(2024, 1, 6), "to": date(2024, 1, 7), "days": 2, "twr": None,
                      "twr_annualized": None, "mwr_annualized": None, "mwr_period": None}


def test_an_unknown_value_inside_the_period_leaves_twr_unknown_but_not_mwr():
    # MV(day 2) unknown: r2 and r3 are unknown, so is TWR; MWR needs only the
    # flows and MV_T, which are known (same flows as the whole worked case).
    mv = np.array([1000.0, NAN, 1530.0, 1320.0])
    result = perf(date(2024, 1, 1), date(2024, 1, 4), mv=mv)
    assert result["twr"] is None and result["twr_annualized"] is None
    assert result["mwr_annualized"] == perf(date(2024, 1, 1), date(2024, 1, 4))["mwr_annualized"]


def test_an_unknown_end_value_or_opening_value_leaves_mwr_unknown():
    unknown_end = perf(date(2024, 1, 1), date(2024, 1, 4), mv=np.array([1000.0, 1010.0, 1530.0, NAN]))
    assert unknown_end["mwr_annualized"] is None and unknown_end["mwr_period"] is None
    unknown_opening = perf(date(2024, 1, 3), date(2024, 1, 4), mv=np.array([1000.0, NAN, 1530.0, 1320.0]))
    assert unknown_opening["mwr_annualized"] is None and unknown_opening["twr"] is None


def test_an_unknown_flow_inside_the_period_leaves_mwr_unknown():
    result = perf(date(2024, 1, 1), date(2024, 1, 4), inflow=np.array([1000.0, 0.0, NAN, 0.0]))
    assert result["mwr_annualized"] is None and result["twr"] is None


def test_a_total_loss_has_a_twr_of_minus_one_and_no_mwr():
    # Everything deposited is gone: r = 0/1000 − 1 = −1; the flows −1000, +0
    # never change sign, so no rate makes them sum to zero.
    dates = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]")
    result = perf(date(2024, 1, 1), date(2024, 1, 2), dates, np.array([1000.0, 0.0]),
                  np.array([1000.0, 0.0]), np.zeros(2))
    assert result["twr"] == -1.0
    assert result["mwr_annualized"] is None and result["mwr_period"] is None


def test_figures_are_plain_python_floats():
    result = perf(date(2021, 1, 5), date(2023, 1, 4), YEARS, YEARS_MV, YEARS_IN, NO_FLOWS)
    for key in ("twr", "twr_annualized", "mwr_annualized", "mwr_period"):
        assert type(result[key]) is float
