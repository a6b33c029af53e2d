"""The analytics reproduce every return, performance and risk figure of the shared scenarios.

Inputs are the scenarios' own timeseries (date, MV_t, In_t, Out_t) and the
benchmark's prices from events.jsonl; outputs are compared with expected.json
under the scenarios README's rules (numbers within 1e-9 relative, 1e-12
absolute floor; null exactly where null). The periods' from/to are also
derived from their names, as_of and first_transaction_date.

Conventions these figures confirm (each alternative was tried and fails):
- a period's figures use every r_t with F ≤ t ≤ T, the first one included;
- b_t uses the benchmark price on the valuation date before t, also for a
  period's first date, and is unknown only on the very first valuation date;
- alpha compounds the mean daily alpha: (1 + mean)^252 − 1, not mean·252;
- VaR interpolates percentiles linearly (numpy's default);
- a single unknown r_t in a period nulls every risk figure of the period.
"""
from datetime import date
from functools import cache
from decimal import Decimal

import numpy as np
import pytest

from core.analytics.performance import performance
from core.analytics.periods import clamp_period, resolve_period
from core.analytics.returns import benchmark_returns, daily_returns
from core.analytics.risk import FIGURES, risk_for_period
from tests.support.scenario import Mismatches, load_expected, price_history, scenario_params

PERFORMANCE_FIGURES = ("twr", "twr_annualized", "mwr_annualized", "mwr_period")


def portfolios():
    return scenario_params(per_portfolio=True)


def floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(Decimal(v)) for v in values], dtype=np.float64)


class Series:
    """A portfolio's expected timeseries as the arrays the analytics take."""

    def __init__(self, timeseries: list[dict]):
        self.dates = np.array([e["date"] for e in timeseries], dtype="datetime64[D]")
        self.mv = floats(e["mv"] for e in timeseries)
        self.inflow = floats(e["in"] for e in timeseries)
        self.outflow = floats(e["out"] for e in timeseries)
        self.expected_r = [e["r"] for e in timeseries]
        self.r = daily_returns(self.mv, self.inflow, self.outflow)


@cache
def prices_of(name: str) -> dict:
    return price_history(name)


def benchmark(name: str, security_id: str, dates: np.ndarray) -> np.ndarray:
    prices = sorted(prices_of(name)[security_id].items())
    price_dates = np.array([d for d, _ in prices], dtype="datetime64[D]")
    return benchmark_returns(dates, price_dates, np.array([float(p) for _, p in prices]))


def period_of(entry: dict) -> tuple[date, date]:
    return date.fromisoformat(entry["from"]), date.fromisoformat(entry["to"])


@pytest.fixture(scope="module")
def expected():
    """scenario name → its expected.json, read once on first use."""
    return _Expected()


class _Expected(dict):
    def __missing__(self, name: str) -> dict:
        self[name] = load_expected(name)
        return self[name]


@pytest.mark.parametrize("name, pid", portfolios())
def test_daily_returns_match_the_timeseries(expected, name, pid):
    series = Series(expected[name]["portfolios"][pid]["timeseries"])
    m = Mismatches()
    for day, want, got in zip(series.dates, series.expected_r, series.r):
        m.num(f"{name}/{pid} r {day}", want, None if np.isnan(got) else float(got))
    assert not m, "\n".join(m[:20])


@pytest.mark.parametrize("name, pid", portfolios())
def test_period_bounds_follow_from_the_period_names(expected, name, pid):
    scenario = expected[name]
    portfolio = scenario["portfolios"][pid]
    as_of, first = date.fromisoformat(scenario["as_of"]), date.fromisoformat(portfolio["first_transaction_date"])
    for section in ("performance", "risk"):
        for period, entry in portfolio[section].items():
            base_name = period.split("_")[0]  # SI_rf3_c99 is SI with other parameters
            assert clamp_period(*resolve_period(base_name, as_of), first) == period_of(entry), (section, period)


@pytest.mark.parametrize("name, pid", portfolios())
def test_performance_matches_every_period(expected, name, pid):
    portfolio = expected[name]["portfolios"][pid]
    series = Series(portfolio["timeseries"])
    m = Mismatches()
    for period, entry in portfolio["performance"].items():
        from_, to = period_of(entry)
        got = performance(series.dates, series.mv, series.inflow, series.outflow, series.r, from_, to)
        assert (got["from"], got["to"], got["days"]) == (from_, to, (to - from_).days + 1)
        for figure in PERFORMANCE_FIGURES:
            m.num(f"{name}/{pid} {period}.{figure}", entry[figure], got[figure])
    assert not m, "\n".join(m)


@pytest.mark.parametrize("name, pid", portfolios())
def test_risk_matches_every_period(expected, name, pid):
    portfolio = expected[name]["portfolios"][pid]
    series = Series(portfolio["timeseries"])
    m = Mismatches()
    for period, entry in portfolio["risk"].items():
        from_, to = period_of(entry)
        b = None if entry["benchmark"] is None else benchmark(name, entry["benchmark"], series.dates)
        got = risk_for_period(series.dates, series.r, b, from_, to, entry["risk_free"], entry["confidence"])
        for figure in FIGURES:
            m.num(f"{name}/{pid} {period}.{figure}", entry[figure], got[figure])
    assert not m, "\n".join(m)
