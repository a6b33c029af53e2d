"""Performance of a period: time-weighted (TWR) and money-weighted (MWR) returns.

SPEC §2: TWR links the daily returns r_t of the valuation dates in [F, T];
MWR is the XIRR of the money that went in and out, starting from the value
held before F and ending with the value at T. F and T come already clamped
(see `periods.clamp_period`).
"""
from __future__ import annotations

from datetime import date

import numpy as np

from core.analytics.periods import valuation_slice
from core.analytics.xirr import DAYS_PER_YEAR, irr_of

# TWR is annualized only over periods longer than a year: a shorter period's
# return scaled up to a year would be a forecast, not a measurement.
ANNUALIZE_AFTER_DAYS = 366
DAYS_PER_YEAR_ANNUALIZED = 365.25


def performance(
    dates: np.ndarray,
    mv: np.ndarray,
    inflow: np.ndarray,
    outflow: np.ndarray,
    r: np.ndarray,
    from_: date,
    to: date,
) -> dict:
    """{from, to, days, twr, twr_annualized, mwr_annualized, mwr_period} of [from_, to].

    Arrays run over the portfolio's valuation dates (datetime64[D], ascending)
    with NaN for unknown figures; `r` is `returns.daily_returns` of the same
    arrays. A figure that needs an unknown value is None (no partial totals);
    a period without any valuation date has every figure None.
    """
    dates = np.asarray(dates, dtype="datetime64[D]")
    period = valuation_slice(dates, from_, to)
    days = (to - from_).days + 1
    result = {"from": from_, "to": to, "days": days, "twr": None, "twr_annualized": None,
              "mwr_annualized": None, "mwr_period": None}
    if period.start == period.stop:
        return result
    twr = time_weighted_return(np.asarray(r, dtype=np.float64)[period])
    if twr is not None:
        result["twr"] = twr
        result["twr_annualized"] = annualized_twr(twr, days)
    irr = money_weighted_irr(dates, mv, inflow, outflow, period, from_, to)
    if irr is not None:
        result["mwr_annualized"] = irr
        result["mwr_period"] = float((1.0 + irr) ** ((to - from_).days / DAYS_PER_YEAR) - 1.0)
    return result


def time_weighted_return(r: np.ndarray) -> float | None:
    """Π(1 + r_t) − 1 over the period's daily returns; None if any is unknown."""
    if np.isnan(r).any():
        return None
    return float(np.prod(1.0 + r) - 1.0)


def annualized_twr(twr: float, days: int) -> float | None:
    """(1 + TWR)^(365.25 / days) − 1 when days > 366, else None."""
    if days <= ANNUALIZE_AFTER_DAYS:
        return None
    return float((1.0 + twr) ** (DAYS_PER_YEAR_ANNUALIZED / days) - 1.0)


def money_weighted_irr(
    dates: np.ndarray,
    mv: np.ndarray,
    inflow: np.ndarray,
    outflow: np.ndarray,
    period: slice,
    from_: date,
    to: date,
) -> float | None:
    """XIRR of the period's flows, dates[period] being the valuation dates in [from_, to].

    The flows, as the investor sees them (money in negative, money out positive):
    - −MV_{F−1} at F: the value at the last valuation date before F, as if
      bought at F; left out when ≤ 0 (nothing to invest) or when there is no
      earlier valuation date (since inception, the first inflows fund it);
    - −In_t and +Out_t on their dates;
    - +MV_T at T: the value at the last valuation date on or before T, which
      is the period's last valuation date.
    Same-day flows are netted by `irr_of`. None when a needed value is unknown.
    `period` must hold at least one valuation date (`performance` checks).
    """
    mv = np.asarray(mv, dtype=np.float64)
    start = _day_number(from_)
    in_period = dates[period].astype(np.int64)
    flows_in = np.asarray(inflow, dtype=np.float64)[period]
    flows_out = np.asarray(outflow, dtype=np.float64)[period]
    end_value = mv[period.stop - 1]
    opening = mv[period.start - 1] if period.start > 0 else 0.0
    if np.isnan(end_value) or np.isnan(opening):
        return None
    days = np.concatenate((in_period, [_day_number(to)]))
    amounts = np.concatenate((flows_out - flows_in, [end_value]))
    if opening > 0.0:
        days = np.concatenate(([start], days))
        amounts = np.concatenate(([-opening], amounts))
    return irr_of(days - start, amounts)


def _day_number(day: date) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))
