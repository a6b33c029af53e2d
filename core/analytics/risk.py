"""Risk figures of a series of daily returns, with empyrical's conventions.

SPEC §2 "Risk" asks for empyrical's figures exactly; each function below says
which empyrical function it reproduces. Conventions shared by all:
- 252 observations a year (`ANNUALIZATION`);
- the risk-free rate is given per year and applied per day as
  (1 + rf)^(1/252) − 1;
- single-series figures ignore unknown (NaN) returns, as empyrical's
  nanmean/nanstd do; figures against a benchmark use only the dates where both
  r_t and b_t are known (pairwise);
- where empyrical would divide by a zero deviation and answer ±inf or NaN, the
  figure is None; a zero deviation itself is reported as 0. "Zero" means every
  observation is equal, judged on the values and not on a computed standard
  deviation, which rounding leaves at about 1e-18 for a constant series.

`risk` is the building block; `risk_for_period` is what a period query needs:
it refuses to compute anything from a period with an unknown return (SPEC:
missing market data gives null, never a partial figure).
"""
from __future__ import annotations

from datetime import date

import numpy as np

from core.analytics.periods import valuation_slice

ANNUALIZATION = 252
SQRT_ANNUALIZATION = float(np.sqrt(ANNUALIZATION))
# empyrical's beta_aligned treats a benchmark variance below this as zero.
MIN_BENCHMARK_VARIANCE = 1.0e-30

FIGURES = ("volatility", "sharpe", "sortino", "max_drawdown", "beta", "alpha",
           "tracking_error", "information_ratio", "var", "cvar")
BENCHMARK_FIGURES = ("beta", "alpha", "tracking_error", "information_ratio")


def risk(r: np.ndarray, b: np.ndarray | None, risk_free: float = 0.0, confidence: float = 0.95) -> dict:
    """Every risk figure of daily returns `r`, against benchmark returns `b` (same dates).

    `risk_free` is an annual rate; `confidence` the VaR/CVaR level (0.95 looks
    at the worst 5 % of days). NaN returns are skipped (see the module doc).
    With fewer than 2 known returns every figure is None; without a benchmark
    (`b` None) or with fewer than 2 dates where both are known, beta, alpha,
    tracking error and information ratio are None.
    """
    result: dict = dict.fromkeys(FIGURES)
    r = np.asarray(r, dtype=np.float64)
    known = r[~np.isnan(r)]
    if known.size < 2:
        return result
    rf = daily_risk_free(risk_free)
    excess = known - rf
    result["volatility"] = annual_volatility(known)
    result["sharpe"] = sharpe_ratio(excess)
    result["sortino"] = sortino_ratio(excess)
    result["max_drawdown"] = max_drawdown(r)
    result["var"] = value_at_risk(known, confidence)
    result["cvar"] = conditional_value_at_risk(known, confidence)
    if b is not None:
        result.update(benchmark_relative(r, np.asarray(b, dtype=np.float64), rf))
    return result


def risk_for_period(
    dates: np.ndarray,
    r: np.ndarray,
    b: np.ndarray | None,
    from_: date,
    to: date,
    risk_free: float = 0.0,
    confidence: float = 0.95,
) -> dict:
    """`risk` over the valuation dates in [from_, to], or all None if any r_t there is unknown.

    `dates`, `r` and `b` run over the portfolio's whole series of valuation
    dates (datetime64[D], ascending); `from_` and `to` are already clamped.
    Every r_t with F ≤ t ≤ T counts, the first one included (it measures the
    day from the valuation date before F to F, as in TWR). A single unknown
    r_t makes every figure None: a figure computed from the known days only
    would be a partial total (the scenarios' PX-EDGE confirms it: its periods
    mix known and unknown days and expect every figure null). An unknown b_t
    only drops that date from the benchmark figures (the first valuation date
    never has one).
    """
    period = valuation_slice(dates, from_, to)
    period_r = np.asarray(r, dtype=np.float64)[period]
    if period_r.size == 0 or np.isnan(period_r).any():
        return dict.fromkeys(FIGURES)
    period_b = None if b is None else np.asarray(b, dtype=np.float64)[period]
    return risk(period_r, period_b, risk_free, confidence)


def daily_risk_free(annual_rate: float) -> float:
    """The daily rate that compounds to `annual_rate` over 252 days."""
    return (1.0 + annual_rate) ** (1.0 / ANNUALIZATION) - 1.0


def annual_volatility(r: np.ndarray) -> float:
    """std(r, ddof=1)·√252 (empyrical.annual_volatility); 0 for a constant series."""
    if _is_constant(r):
        return 0.0
    return float(np.std(r, ddof=1) * SQRT_ANNUALIZATION)


def sharpe_ratio(excess: np.ndarray) -> float | None:
    """mean(r − rf) / std(r − rf, ddof=1)·√252 (empyrical.sharpe_ratio)."""
    if _is_constant(excess):
        return None
    return float(np.mean(excess) / np.std(excess, ddof=1) * SQRT_ANNUALIZATION)


def sortino_ratio(excess: np.ndarray) -> float | None:
    """Annual mean excess return over annual downside deviation (empyrical.sortino_ratio).

    The downside deviation is sqrt(mean(min(r − rf, 0)²)) over all
    observations, the days above rf counting as 0; annualized by √252 while
    the mean is annualized by 252. None when no day falls below rf.
    """
    downside = np.minimum(excess, 0.0)
    if not downside.any():
        return None
    downside_deviation = np.sqrt(np.mean(np.square(downside))) * SQRT_ANNUALIZATION
    return float(np.mean(excess) * ANNUALIZATION / downside_deviation)


def max_drawdown(r: np.ndarray) -> float:
    """Largest fall from a running peak of wealth, as a negative fraction (empyrical.max_drawdown).

    Wealth starts at 1.0 before the first return, so a loss on the first day
    counts; an unknown return counts as 0 (empyrical's cum_returns).
    """
    growth = np.where(np.isnan(r), 0.0, r) + 1.0
    wealth = np.concatenate(([1.0], np.cumprod(growth)))
    peak = np.maximum.accumulate(wealth)
    return float(np.min((wealth - peak) / peak))


def value_at_risk(r: np.ndarray, confidence: float) -> float:
    """Historical VaR as a positive loss: −percentile(r, 100·(1 − confidence)).

    empyrical.value_at_risk with cutoff = 1 − confidence (linear interpolation
    between order statistics), negated.
    """
    return float(-np.percentile(r, 100.0 * (1.0 - confidence)))


def conditional_value_at_risk(r: np.ndarray, confidence: float) -> float:
    """Mean of the worst days as a positive loss (empyrical.conditional_value_at_risk).

    The worst int((n − 1)·cutoff) + 1 days, cutoff = 1 − confidence: the days
    at or below the VaR percentile when returns are distinct, computed the way
    empyrical does so that ties give the same figure.
    """
    cutoff_index = int((r.size - 1) * (1.0 - confidence))
    worst = np.partition(r, cutoff_index)[: cutoff_index + 1]
    return float(-np.mean(worst))


def benchmark_relative(r: np.ndarray, b: np.ndarray, rf: float) -> dict:
    """Beta, alpha, tracking error and information ratio on the dates where r and b are known.

    Beta is cov(r − rf, b − rf) / var(b − rf), population moments
    (empyrical.beta_aligned); alpha is the mean daily excess over beta times
    the benchmark's excess, compounded over 252 days: (1 + mean)^252 − 1
    (empyrical.alpha_aligned). Tracking error is std(r − b, ddof=1)·√252 and the
    information ratio mean(r − b)·252 / tracking error.
    """
    result: dict = dict.fromkeys(BENCHMARK_FIGURES)
    both = ~(np.isnan(r) | np.isnan(b))
    if np.count_nonzero(both) < 2:
        return result
    r, b = r[both], b[both]
    excess_r, excess_b = r - rf, b - rf
    centred_b = excess_b - np.mean(excess_b)
    variance_b = np.mean(np.square(centred_b))
    if not _is_constant(b) and variance_b >= MIN_BENCHMARK_VARIANCE:
        beta = float(np.mean(centred_b * (excess_r - np.mean(excess_r))) / variance_b)
        result["beta"] = beta
        result["alpha"] = float((1.0 + np.mean(excess_r - beta * excess_b)) ** ANNUALIZATION - 1.0)
    active = r - b
    if _is_constant(active):
        result["tracking_error"] = 0.0
    else:
        tracking_error = float(np.std(active, ddof=1) * SQRT_ANNUALIZATION)
        result["tracking_error"] = tracking_error
        result["information_ratio"] = float(np.mean(active) * ANNUALIZATION / tracking_error)
    return result


def _is_constant(values: np.ndarray) -> bool:
    """True when every value is equal: a deviation of exactly zero."""
    return bool(values.size == 0 or np.all(values == values[0]))
