"""Risk figures against empyrical's published test vectors, and the SPEC's edge cases.

Published vectors: quantopian/empyrical, empyrical/tests/test_stats.py
(TestStats; empyrical 0.5.x, annualization factor 252). Its `mixed_returns`
is [NaN, 1, 10, −4, 2, 3, 2, 1, −10] % on consecutive days; `negative_returns`
is [0, −6, −7, −1, −9, −2, −6, −8, −5] %. empyrical's `cutoff` is our
1 − confidence, its `required_return`/`risk_free` a daily rate where ours is
annual, and our VaR/CVaR are its figures negated (a loss is positive).
"""
from datetime import date

import numpy as np
import pytest

from core.analytics.risk import FIGURES, daily_risk_free, risk, risk_for_period

NAN = np.nan
MIXED = np.array([NAN, 1.0, 10.0, -4.0, 2.0, 3.0, 2.0, 1.0, -10.0]) / 100
NEGATIVE = np.array([0.0, -6.0, -7.0, -1.0, -9.0, -2.0, -6.0, -8.0, -5.0]) / 100
FLAT_ONE_PERCENT = np.full(9, 0.01)
SQRT_252 = 252 ** 0.5
REL = 1e-12


def test_published_single_series_figures_of_mixed_returns():
    # test_annual_volatility, test_sharpe_ratio, test_sortino, test_max_drawdown.
    figures = risk(MIXED, None)
    assert figures["volatility"] == pytest.approx(0.9136465399704637, rel=REL)
    assert figures["sharpe"] == pytest.approx(1.7238613961706866, rel=REL)
    assert figures["sortino"] == pytest.approx(2.605531251673693, rel=REL)
    assert figures["max_drawdown"] == pytest.approx(-0.1, rel=REL)


def test_published_sortino_against_a_required_return_of_one_percent_a_day():
    # test_sortino (mixed_returns, flat_line_1): 1 % a day is 1.01^252 − 1 a year.
    assert risk(MIXED, None, risk_free=1.01 ** 252 - 1)["sortino"] == pytest.approx(-1.3934779588919977, rel=REL)


def test_published_max_drawdown_of_returns_that_only_fall():
    # test_max_drawdown (negative_returns): the drawdown is the whole fall.
    assert risk(NEGATIVE, None)["max_drawdown"] == pytest.approx(-0.36590730349873601, rel=REL)


def test_max_drawdown_counts_a_loss_on_the_first_day_from_a_wealth_of_one():
    # test_max_drawdown ([10, −10, 10] %) is −0.10; and −10 % on day one from 1.0:
    # wealth 1 → 0.9 → 0.945, so −0.10 too.
    assert risk(np.array([0.10, -0.10, 0.10]), None)["max_drawdown"] == pytest.approx(-0.10, rel=REL)
    assert risk(np.array([-0.10, 0.05]), None)["max_drawdown"] == pytest.approx(-0.10, rel=REL)


def test_published_alpha_and_beta_drop_dates_without_both_returns():
    # test_alpha_beta (mixed_returns, negative_returns[1:]): aligned on dates, the
    # first date has neither, leaving 8 pairs: alpha −0.9997853834885004 (the
    # mean daily alpha compounded over 252 days), beta −0.71296296296296313.
    benchmark = np.concatenate(([NAN], NEGATIVE[1:]))
    figures = risk(MIXED, benchmark)
    assert figures["alpha"] == pytest.approx(-0.9997853834885004, rel=REL)
    assert figures["beta"] == pytest.approx(-0.71296296296296313, rel=REL)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_published_alpha_and_beta_against_itself_and_its_mirror(sign):
    # test_alpha_beta (mixed_returns, ±mixed_returns): alpha 0, beta ±1.
    figures = risk(MIXED, sign * MIXED)
    assert figures["alpha"] == pytest.approx(0.0, abs=1e-15)
    assert figures["beta"] == pytest.approx(sign, rel=REL)


def test_published_information_ratio_against_a_zero_benchmark():
    # test_excess_sharpe (mixed_returns, 0.0) = 0.10859306069076737 per day;
    # ours is annualized: mean·252 / (std·√252) = daily figure · √252.
    figures = risk(MIXED, np.zeros(9))
    assert figures["information_ratio"] == pytest.approx(0.10859306069076737 * SQRT_252, rel=REL)
    assert figures["tracking_error"] == pytest.approx(0.9136465399704637, rel=REL)


def test_published_information_ratio_against_a_flat_benchmark_with_no_beta():
    # test_excess_sharpe (mixed_returns, flat_line_1) = −0.06515583641446039 per day;
    # test_alpha (mixed_returns, flat_line_1) is NaN: a flat benchmark has no
    # variance, so no beta and no alpha.
    figures = risk(MIXED, FLAT_ONE_PERCENT)
    assert figures["information_ratio"] == pytest.approx(-0.06515583641446039 * SQRT_252, rel=REL)
    assert figures["beta"] is None and figures["alpha"] is None


@pytest.mark.parametrize("returns, cutoff, published", [
    # test_value_at_risk
    ([1.0, 2.0], 0.0, 1.0),
    ([1.0, 2.0], 0.3, 1.3),
    ([1.0, 2.0], 1.0, 2.0),
    ([1, 81, 82, 83, 84, 85], 0.1, 41.0),
    ([1, 81, 82, 83, 84, 85], 0.2, 81.0),
    ([1, 81, 82, 83, 84, 85], 0.3, 81.5),
])
def test_published_value_at_risk_negated(returns, cutoff, published):
    assert risk(np.array(returns, dtype=float), None, confidence=1 - cutoff)["var"] == pytest.approx(-published, rel=REL)


@pytest.mark.parametrize("cutoff", [0, 0.0499, 0.05, 0.20, 0.999, 1])
def test_cvar_is_the_mean_loss_at_or_beyond_the_var_as_in_the_published_test(cutoff):
    # test_conditional_value_at_risk: for 21 normal draws, CVaR is the mean of
    # the returns at or below VaR's percentile.
    returns = np.random.default_rng(1337).normal(0, 0.02, 21)
    confidence = 1 - cutoff
    percentile = np.percentile(returns, 100 * (1 - confidence))
    assert risk(returns, None, confidence=confidence)["cvar"] == pytest.approx(
        -np.mean(returns[returns <= percentile]), rel=REL)


def test_the_daily_risk_free_rate_compounds_to_the_annual_rate_over_252_days():
    assert (1 + daily_risk_free(0.03)) ** 252 == pytest.approx(1.03, rel=1e-14)


def test_a_higher_risk_free_rate_lowers_sharpe_and_sortino_but_not_volatility():
    base, higher = risk(MIXED, None), risk(MIXED, None, risk_free=0.03)
    assert higher["volatility"] == base["volatility"]
    assert higher["sharpe"] < base["sharpe"] and higher["sortino"] < base["sortino"]


@pytest.mark.parametrize("returns", [[], [0.01], [NAN, 0.01], [NAN, NAN, NAN]])
def test_fewer_than_two_returns_give_no_figure_at_all(returns):
    assert risk(np.array(returns, dtype=float), np.zeros(len(returns))) == dict.fromkeys(FIGURES)


def test_constant_returns_have_zero_volatility_and_no_ratio_that_divides_by_it():
    # empyrical answers ±inf (or NaN) here; the SPEC asks for 0 and null.
    figures = risk(np.full(5, 0.01), None)
    assert figures["volatility"] == 0.0
    assert figures["sharpe"] is None
    assert figures["sortino"] is None  # no day below the risk-free rate: no downside deviation
    assert figures["max_drawdown"] == 0.0
    assert figures["var"] == pytest.approx(-0.01) and figures["cvar"] == pytest.approx(-0.01)


def test_tracking_the_benchmark_exactly_gives_zero_tracking_error_and_no_information_ratio():
    b = np.array([0.01, -0.02, 0.005, 0.03])
    figures = risk(b.copy(), b)
    assert figures["tracking_error"] == 0.0
    assert figures["information_ratio"] is None
    assert figures["beta"] == pytest.approx(1.0, rel=REL) and figures["alpha"] == pytest.approx(0.0, abs=1e-15)


def test_without_a_benchmark_the_benchmark_figures_are_null():
    figures = risk(MIXED, None)
    assert [figures[k] for k in ("beta", "alpha", "tracking_error", "information_ratio")] == [None] * 4
    assert figures["volatility"] is not None


def test_a_benchmark_known_on_fewer_than_two_dates_gives_no_benchmark_figures():
    one_date = np.full(9, NAN)
    one_date[3] = 0.01
    for b in (np.full(9, NAN), one_date):
        figures = risk(MIXED, b)
        assert [figures[k] for k in ("beta", "alpha", "tracking_error", "information_ratio")] == [None] * 4


def test_figures_are_plain_python_floats():
    figures = risk(MIXED, np.concatenate(([NAN], NEGATIVE[1:])))
    assert all(type(value) is float for value in figures.values())


# risk_for_period: the portfolio's whole series, a period within it.
DATES = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-10"))  # 9 days
SERIES_R = np.array([0.0, 1.0, 10.0, -4.0, 2.0, 3.0, 2.0, 1.0, -10.0]) / 100
SERIES_B = np.concatenate(([NAN], NEGATIVE[1:]))  # the first valuation date has no b_t


def test_a_period_uses_every_return_from_its_first_date_to_its_last():
    figures = risk_for_period(DATES, SERIES_R, SERIES_B, date(2024, 1, 3), date(2024, 1, 7))
    assert figures == risk(SERIES_R[2:7], SERIES_B[2:7])


def test_since_inception_drops_only_the_first_date_from_the_benchmark_figures():
    figures = risk_for_period(DATES, SERIES_R, SERIES_B, date(2024, 1, 1), date(2024, 1, 9), 0.03, 0.99)
    assert figures == risk(SERIES_R, SERIES_B, 0.03, 0.99)
    assert figures["beta"] == pytest.approx(risk(SERIES_R[1:], SERIES_B[1:])["beta"], rel=REL)


def test_an_unknown_return_inside_the_period_gives_no_figure_at_all():
    # No partial totals: figures from the known days only would mislead.
    r = SERIES_R.copy()
    r[4] = NAN
    assert risk_for_period(DATES, r, SERIES_B, date(2024, 1, 1), date(2024, 1, 9)) == dict.fromkeys(FIGURES)


def test_an_unknown_return_outside_the_period_does_not_matter():
    r = SERIES_R.copy()
    r[1] = NAN
    figures = risk_for_period(DATES, r, SERIES_B, date(2024, 1, 3), date(2024, 1, 9))
    assert figures == risk(SERIES_R[2:], SERIES_B[2:])


def test_a_period_without_a_valuation_date_gives_no_figure_at_all():
    figures = risk_for_period(DATES, SERIES_R, SERIES_B, date(2024, 2, 1), date(2024, 2, 9))
    assert figures == dict.fromkeys(FIGURES)
