"""Named reporting periods, anchored on an as-of date, and their clamping.

A period is an inclusive date range [F, T]. `resolve_period` turns a name into
the unclamped range; `clamp_period` then starts it no earlier than the
portfolio's first effective transaction, which is what `days` and the
annualization use (SPEC §2, "Periods").

Rolling windows count days so that they hold exactly n calendar days, both ends
included: 1M is the 30 days ending on as_of (as_of − 29), 3M 91 days, 6M 182
days, and nY 365·n days (1Y = as_of − 364, 2Y = as_of − 729), as in the
scenarios' expected figures.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np

# Days before as_of at which a rolling month window starts.
_MONTH_WINDOWS = {"1M": 29, "3M": 90, "6M": 181}
_YEARS = re.compile(r"([1-9][0-9]*)Y")
_CALENDAR_YEAR = re.compile(r"Y([0-9]{4})")

ACCEPTED_FORMS = "SI, MTD, QTD, YTD, 1M, 3M, 6M, nY (n ≥ 1, e.g. 1Y, 2Y, 10Y), Y<year> (e.g. Y2023)"


def resolve_period(name: str, as_of: date) -> tuple[date | None, date]:
    """(from, to) of the named period for `as_of`, before clamping to inception.

    `from` is None for SI: since inception has no lower bound of its own, and
    `clamp_period` starts it at the first transaction. `to` is as_of, except
    for Y<year>, which is that full calendar year (1 January to 31 December),
    cut at as_of when the year is not over yet: there is no data after as_of,
    and the end date moves MV_T and the annualization. A year after as_of's
    gives from > to, which `clamp_period` reports as an empty period.

    Names are case-insensitive. Anything else raises ValueError naming the
    accepted forms.
    """
    key = name.strip().upper()
    if key == "SI":
        return None, as_of
    if key == "MTD":
        return as_of.replace(day=1), as_of
    if key == "QTD":
        first_month_of_quarter = 3 * ((as_of.month - 1) // 3) + 1
        return date(as_of.year, first_month_of_quarter, 1), as_of
    if key == "YTD":
        return date(as_of.year, 1, 1), as_of
    if key in _MONTH_WINDOWS:
        return _days_before(as_of, _MONTH_WINDOWS[key], name), as_of
    if years := _YEARS.fullmatch(key):
        return _days_before(as_of, 365 * int(years.group(1)) - 1, name), as_of
    if year := _CALENDAR_YEAR.fullmatch(key):
        y = int(year.group(1))
        if y < 1:
            raise _unknown(name)
        return date(y, 1, 1), min(date(y, 12, 31), as_of)
    raise _unknown(name)


def clamp_period(from_: date | None, to: date, first_date: date | None) -> tuple[date, date] | None:
    """[F, T] with F moved up to the first effective transaction date.

    `from_` None means since inception. Returns None when the period is empty:
    F > T after clamping, or no transaction at all (`first_date` None).
    """
    if first_date is None:
        return None
    start = first_date if from_ is None else max(from_, first_date)
    if start > to:
        return None
    return start, to


def valuation_slice(dates: np.ndarray, from_: date, to: date) -> slice:
    """The positions of the valuation dates within [from_, to] (both included).

    `dates` is the portfolio's datetime64[D] series, ascending. An empty
    slice means the period holds no valuation date.
    """
    dates = np.asarray(dates, dtype="datetime64[D]")
    first = int(np.searchsorted(dates, np.datetime64(from_, "D"), side="left"))
    stop = int(np.searchsorted(dates, np.datetime64(to, "D"), side="right"))
    return slice(first, max(first, stop))


def _days_before(as_of: date, days: int, name: str) -> date:
    try:
        return as_of - timedelta(days=days)
    except OverflowError:
        raise ValueError(f"period {name!r} starts before year 1") from None


def _unknown(name: str) -> ValueError:
    return ValueError(f"unknown period {name!r}: use one of {ACCEPTED_FORMS}")
