"""XIRR: the annual rate that discounts dated cash flows to a net present value of 0.

Actual/365: a flow d days after the first is discounted by (1 + rate)^(d/365).
Newton's method from 0.1 first, as SPEC §2 prescribes; when it fails (no
convergence, or a step to a rate ≤ −1) bisection on (−1, ∞). None when no
rate exists, e.g. when every flow has the same sign.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np

DAYS_PER_YEAR = 365.0
NEWTON_START = 0.1
NEWTON_MAX_STEPS = 100
# Converged when a Newton step moves the rate by less than this (relative to
# max(1, |rate|)): far below the 1e-9 relative precision that figures need.
RATE_TOLERANCE = 1e-14
# Rates tried, lowest first, to bracket a root for bisection on (−1, ∞).
_BRACKET_GRID = np.array(
    [-1 + 1e-9, -0.999999, -0.9999, -0.999, -0.99, -0.95, -0.9, -0.75, -0.5, -0.25, 0.0, 0.1,
     0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0, 1e3, 1e4, 1e6, 1e9, 1e12, 1e15, 1e20, 1e30, 1e50, 1e100,
     1e200]
)


def xirr(flows: Sequence[tuple[date, float]]) -> float | None:
    """Annual internal rate of return of `flows`: (date, amount) pairs.

    Negative amounts are money put in, positive amounts money taken out (or
    the final value). Same-day flows are netted. None when there is no rate.
    """
    if not flows:
        return None
    origin = min(day for day, _ in flows)
    days = np.fromiter(((day - origin).days for day, _ in flows), dtype=np.float64, count=len(flows))
    amounts = np.fromiter((amount for _, amount in flows), dtype=np.float64, count=len(flows))
    return irr_of(days, amounts)


def irr_of(days: np.ndarray, amounts: np.ndarray) -> float | None:
    """XIRR of flows given as day offsets (any origin) and amounts, vectorised.

    Same-day flows are netted first; zero net flows drop out. None when the
    netted flows do not change sign (no rate can make them sum to 0), when
    any amount is NaN, or when no root is found.
    """
    days = np.asarray(days, dtype=np.float64)
    amounts = np.asarray(amounts, dtype=np.float64)
    if days.size == 0 or not np.all(np.isfinite(amounts)):
        return None
    unique_days, slot = np.unique(days, return_inverse=True)
    netted = np.bincount(slot, weights=amounts, minlength=unique_days.size)
    keep = netted != 0.0
    netted, flow_days = netted[keep], unique_days[keep]
    if not (np.any(netted > 0) and np.any(netted < 0)):
        return None
    years = (flow_days - flow_days[0]) / DAYS_PER_YEAR
    rate = _newton(years, netted)
    if rate is None:
        rate = _bisection(years, netted)
    return rate


def _newton(years: np.ndarray, amounts: np.ndarray) -> float | None:
    rate = NEWTON_START
    with np.errstate(all="ignore"):
        for _ in range(NEWTON_MAX_STEPS):
            discount = np.power(1.0 + rate, -years)
            value = float(np.dot(amounts, discount))
            slope = float(np.dot(amounts * -years, discount)) / (1.0 + rate)
            if slope == 0.0 or not np.isfinite(slope) or not np.isfinite(value):
                return None
            step = value / slope
            rate -= step
            if not np.isfinite(rate) or rate <= -1.0:
                return None
            if abs(step) <= RATE_TOLERANCE * max(1.0, abs(rate)):
                return rate
    return None


def _sign_of_npv(rate: float, years: np.ndarray, amounts: np.ndarray) -> float:
    """Sign of the NPV, computed without overflow at any rate in (−1, ∞).

    Below 0 the NPV is multiplied by (1 + rate)^T, T the last flow's time, so
    every factor is (1 + rate)^(T − t) ≤ 1; from 0 up every factor
    (1 + rate)^(−t) is already ≤ 1. Both keep the NPV's sign.
    """
    if rate < 0.0:
        factors = np.power(1.0 + rate, years.max() - years)
    else:
        factors = np.power(1.0 + rate, -years)
    return float(np.sign(np.dot(amounts, factors)))


def _bisection(years: np.ndarray, amounts: np.ndarray) -> float | None:
    """The lowest root bracketed by the grid, by bisection to float precision."""
    with np.errstate(all="ignore"):
        signs = np.array([_sign_of_npv(r, years, amounts) for r in _BRACKET_GRID])
    exact = np.flatnonzero(signs == 0.0)
    changes = np.flatnonzero(signs[:-1] * signs[1:] < 0)
    if changes.size == 0:
        return float(_BRACKET_GRID[exact[0]]) if exact.size else None
    if exact.size and exact[0] <= changes[0]:
        return float(_BRACKET_GRID[exact[0]])
    low, high = float(_BRACKET_GRID[changes[0]]), float(_BRACKET_GRID[changes[0] + 1])
    low_sign = signs[changes[0]]
    with np.errstate(all="ignore"):
        for _ in range(400):
            # A few days' returns annualize to huge rates: halve wide positive
            # brackets geometrically, or reaching float precision takes hundreds of steps.
            middle = (low * high) ** 0.5 if low > 0 and high > 4 * low else 0.5 * (low + high)
            if middle in (low, high):
                break
            sign = _sign_of_npv(middle, years, amounts)
            if sign == 0.0:
                return middle
            if sign == low_sign:
                low = middle
            else:
                high = middle
    return 0.5 * (low + high)
