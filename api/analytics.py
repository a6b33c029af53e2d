"""The stored daily series as numpy arrays, and the period a request asks for.

Routes load a portfolio's series once (every date up to the period's end:
each r_t needs the date before it) and hand the arrays to core.analytics.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import InvalidParameter
from api.queries.series import SeriesRow, first_transaction_date, horizon, series_arrays, series_rows
from core.analytics.periods import clamp_period, resolve_period
from core.analytics.returns import benchmark_returns, daily_returns


def _floats(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


@dataclass(frozen=True)
class Series:
    rows: list[SeriesRow]
    dates: np.ndarray  # datetime64[D]
    mv: np.ndarray
    inflow: np.ndarray
    outflow: np.ndarray
    r: np.ndarray

    @classmethod
    def of(cls, rows: list[SeriesRow]) -> Series:
        mv, inflow, outflow = _floats([r.mv for r in rows]), _floats([r.inflow for r in rows]), \
            _floats([r.outflow for r in rows])
        dates = np.array([r.date for r in rows], dtype="datetime64[D]")
        return cls(rows, dates, mv, inflow, outflow, daily_returns(mv, inflow, outflow))


async def load_series(session: AsyncSession, portfolio_id: str, to: date | None) -> Series:
    """The stored rows (exact decimals) and their returns: for listing the series."""
    return Series.of(await series_rows(session, portfolio_id, to))


@dataclass(frozen=True)
class SeriesArrays:
    """The series as float arrays only: what performance and risk compute on."""

    dates: np.ndarray  # datetime64[D]
    mv: np.ndarray
    inflow: np.ndarray
    outflow: np.ndarray
    r: np.ndarray


async def load_series_arrays(session: AsyncSession, portfolio_id: str, to: date) -> SeriesArrays:
    return arrays_of(await series_arrays(session, portfolio_id, to))


def arrays_of(found: dict[str, list | None], to: date | None = None) -> SeriesArrays:
    """api.queries.series' arrays (days since 1970, floats or None) as numpy, cut after `to` if given."""
    # None (unknown) becomes NaN in a float array.
    mv, inflow, outflow = (np.array(found[k] or [], dtype=np.float64) for k in ("mv", "inflow", "outflow"))
    dates = np.array(found["days"] or [], dtype="datetime64[D]")
    if to is not None:
        kept = dates <= np.datetime64(to, "D")
        dates, mv, inflow, outflow = dates[kept], mv[kept], inflow[kept], outflow[kept]
    return SeriesArrays(dates, mv, inflow, outflow, daily_returns(mv, inflow, outflow))


@dataclass(frozen=True)
class PeriodRequest:
    """`period` (anchored on `as_of`) or explicit `from`/`to`; `as_of` defaults to the portfolio's horizon."""

    period: str | None
    from_: date | None
    to: date | None
    as_of: date | None

    def check(self) -> None:
        if self.period is not None and (self.from_ is not None or self.to is not None):
            raise InvalidParameter("query", "period", "give either period or from/to, not both")
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise InvalidParameter("query", "from", f"from ({self.from_}) is after to ({self.to})")
        if self.period is not None:
            _resolved(self.period, date.today())


def _resolved(period: str, anchor: date) -> tuple[date, date]:
    """The period's [from, to] on `anchor`; an unknown name, or one reaching before year 1, is a 422."""
    try:
        return resolve_period(period, anchor)
    except ValueError as exc:
        raise InvalidParameter("query", "period", str(exc)) from None


@dataclass(frozen=True)
class Window:
    """The requested [from, to] before clamping, and the clamped one (None: empty)."""

    from_: date | None
    to: date | None
    clamped: tuple[date, date] | None


async def resolve_window(session: AsyncSession, portfolio_id: str, request: PeriodRequest) -> Window:
    request.check()
    first_date = await first_transaction_date(session, portfolio_id)
    anchor = request.as_of or request.to or await horizon(session, portfolio_id)
    return window_on(request, first_date, anchor)


def window_on(request: PeriodRequest, first_date: date | None, anchor: date | None) -> Window:
    """The request's window, `anchor` being its as_of, its to, or else the portfolio's horizon;
    `request` checked already (`request.check()`, before anything is read for it)."""
    if anchor is None:  # nothing was ever traded or priced
        return Window(request.from_, request.to, None)
    if request.period is not None:
        from_, to = _resolved(request.period, anchor)
    else:
        from_, to = request.from_, request.to or anchor
    return Window(from_, to, clamp_period(from_, to, first_date))


def benchmark_series(history: tuple[list[int], list[float]], dates: np.ndarray) -> np.ndarray:
    """b_t over the valuation dates from a benchmark's `price_history`."""
    days, prices = history
    return benchmark_returns(dates, np.array(days, dtype="datetime64[D]"), np.array(prices, dtype=np.float64))
