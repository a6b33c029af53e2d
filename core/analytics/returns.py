"""Daily returns of a portfolio and of its benchmark, over the valuation dates.

Both are the TWR building blocks of SPEC §2: r_t links the portfolio's value
from one valuation date to the next with external flows taken out, b_t links
the benchmark's price over the same dates, so the two series line up day by
day for beta, alpha and tracking error.
"""
from __future__ import annotations

import numpy as np


def daily_returns(mv: np.ndarray, inflow: np.ndarray, outflow: np.ndarray) -> np.ndarray:
    """r_t = (MV_t + Out_t) / (MV_{t−1} + In_t) − 1 for each valuation date.

    `mv`, `inflow` and `outflow` are float64 arrays over the valuation dates in
    order; NaN means unknown. MV_{−1} is 0 for the first valuation date, so the
    first return measures the first day's flows against the value they bought.
    The return is 0 when the denominator is 0 (nothing was invested) and NaN
    when any input it needs is NaN: a missing value never counts as zero, not
    even next to an empty denominator. Confirmed against every `r` of the
    scenarios' timeseries.
    """
    mv = np.asarray(mv, dtype=np.float64)
    previous_mv = np.concatenate(([0.0], mv[:-1]))
    invested = previous_mv + np.asarray(inflow, dtype=np.float64)
    ending = mv + np.asarray(outflow, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = ending / invested - 1.0
    # NaN == 0 is False, so an unknown denominator keeps r NaN; an unknown
    # numerator over a zero denominator is made NaN explicitly.
    return np.where(invested == 0.0, np.where(np.isnan(ending), np.nan, 0.0), r)


def prices_on_or_before(dates: np.ndarray, price_dates: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """The latest price on or before each date (NaN before the first price).

    `price_dates` must be sorted ascending and unique, with corrections
    already applied, as for valuation: a day without a price uses the last one.
    """
    dates = np.asarray(dates, dtype="datetime64[D]")
    price_dates = np.asarray(price_dates, dtype="datetime64[D]")
    prices = np.asarray(prices, dtype=np.float64)
    latest = np.searchsorted(price_dates, dates, side="right") - 1
    known = latest >= 0
    out = np.full(dates.shape, np.nan)
    out[known] = prices[latest[known]]
    return out


def benchmark_returns(valuation_dates: np.ndarray, price_dates: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """b_t = P(t) / P(previous valuation date) − 1 over the portfolio's valuation dates.

    P is the benchmark's latest price on or before the date, in its own
    currency. b_t is NaN when either price is missing, and for the first
    valuation date, which has no previous valuation date: risk drops such dates
    pairwise, so the first day of a since-inception period, whose r_t measures
    only the initial funding, never enters beta or tracking error. A later
    period's first b_t does use the valuation date before the period, exactly
    as its r_t uses MV_{F−1}.
    """
    level = prices_on_or_before(valuation_dates, price_dates, prices)
    b = np.full(level.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        b[1:] = level[1:] / level[:-1] - 1.0
    return b
