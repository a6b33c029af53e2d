"""XIRR (actual/365) by Newton's method with a bisection fallback."""
from datetime import date

import numpy as np
import pytest

from core.analytics.xirr import irr_of, xirr


def test_published_vector_minus_100_then_plus_110_a_year_later():
    # 2020-01-01 → 2021-01-01 is 366 days (leap year): 1.1^(365/366) − 1 = 0.0997135859.
    rate = xirr([(date(2020, 1, 1), -100.0), (date(2021, 1, 1), 110.0)])
    assert rate == pytest.approx(0.0997135859, abs=1e-10)


def test_a_365_day_round_trip_earns_its_simple_gain():
    assert xirr([(date(2023, 1, 1), -1000.0), (date(2024, 1, 1), 1210.0)]) == pytest.approx(0.21, rel=1e-12)


def test_the_rate_discounts_a_multi_flow_vector_to_zero():
    # −1000 now, −500 after half a year, +1600 after a year: check the NPV at the
    # returned rate with the actual/365 formula written out here.
    flows = [(date(2023, 1, 1), -1000.0), (date(2023, 7, 2), -500.0), (date(2024, 1, 1), 1600.0)]
    rate = xirr(flows)
    npv = sum(a / (1 + rate) ** ((d - flows[0][0]).days / 365) for d, a in flows)
    assert abs(npv) < 1e-9
    assert 0.0 < rate < 0.1  # 100 gained on 1000 for a year and 500 for half a year


def test_flows_on_the_same_day_are_netted_and_the_order_of_flows_does_not_matter():
    separate = xirr([(date(2024, 1, 1), 1210.0), (date(2023, 1, 1), -1500.0), (date(2023, 1, 1), 500.0)])
    assert separate == pytest.approx(0.21, rel=1e-12)


def test_flows_all_of_one_sign_have_no_rate():
    assert xirr([(date(2023, 1, 1), -100.0), (date(2024, 1, 1), -10.0)]) is None
    assert xirr([(date(2023, 1, 1), 100.0), (date(2024, 1, 1), 10.0)]) is None


def test_flows_that_net_to_nothing_on_one_side_have_no_rate():
    # The outflow on day one cancels the inflow: only +10 remains.
    assert xirr([(date(2023, 1, 1), -100.0), (date(2023, 1, 1), 100.0), (date(2024, 1, 1), 10.0)]) is None


def test_no_flows_or_one_flow_have_no_rate():
    assert xirr([]) is None
    assert xirr([(date(2023, 1, 1), -100.0)]) is None


def test_an_unknown_amount_has_no_rate():
    assert irr_of(np.array([0.0, 365.0]), np.array([-100.0, np.nan])) is None


def test_a_total_loss_is_found_close_to_minus_one():
    # −100 then +1 a year later: 1/100 − 1 = −0.99.
    assert xirr([(date(2023, 1, 1), -100.0), (date(2024, 1, 1), 1.0)]) == pytest.approx(-0.99, rel=1e-12)


def test_bisection_finds_the_rate_when_newton_from_ten_percent_fails():
    # Half the money lost in 30 days: 1 + rate = 0.5^(365/30), rate ≈ −0.99978.
    # Newton from 0.1 overshoots below −1 on its first step: NPV(0.1) ≈ −0.50
    # over a slope of ≈ −0.037 is a step of ≈ 13.5, to 0.1 − 13.5 < −1.
    # Bisection on (−1, ∞) finds the root.
    rate = irr_of(np.array([0.0, 30.0]), np.array([-1.0, 0.5]))
    assert rate == pytest.approx(0.5 ** (365 / 30) - 1, rel=1e-12)


def test_a_rate_is_independent_of_where_the_day_count_starts():
    assert irr_of(np.array([100.0, 465.0]), np.array([-1000.0, 1210.0])) == pytest.approx(0.21, rel=1e-12)
