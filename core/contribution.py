"""Each position's return over a period and its contribution to the portfolio's return.

Modified Dietz, over the period [from, to] (both days included), in base
currency, with the daily series' flow convention (core.analytics.returns): a
flow into a holding counts from the start of its day, a flow out of it from
the end of its day. For a holding with start value V0 (end of the day before
`from`), end value V1 (end of `to`) and flows F_t (+ into it):

    gain = V1 − V0 − Σ F_t          invested = V0 + Σ w_t F_t
    w_t = (to − t + 1) / days  for F_t > 0,   (to − t) / days  for F_t < 0

return = gain / invested. The portfolio is a holding whose flows are the
external ones (deposits, withdrawals, transfers); a position's flows are what
moved between it and cash (a BUY's cost in, a SELL's proceeds and a dividend
out) and transfers. A position's contribution is its gain over the
portfolio's invested capital, and cash (interest, fees, FX on balances) takes
the rest of the portfolio's gain, so the contributions add up to the
portfolio's Dietz return. Gains are exact decimals; returns are floats. A
value that is not known (a missing price or FX rate) makes every figure that
needs it None, never 0.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.numbers import ZERO, div, mul


@dataclass(frozen=True, slots=True)
class Flow:
    day: date
    amount: Decimal  # base currency; + into the holding


@dataclass(frozen=True, slots=True)
class Holding:
    """A holding's values at both ends of the period and its flows within it."""

    key: str
    start_value: Decimal | None
    end_value: Decimal | None
    flows: tuple[Flow, ...] = ()

    @property
    def net_flows(self) -> Decimal:
        return sum((f.amount for f in self.flows), ZERO)

    @property
    def gain(self) -> Decimal | None:
        if self.start_value is None or self.end_value is None:
            return None
        return self.end_value - self.start_value - self.net_flows

    def invested(self, from_: date, to: date) -> Decimal | None:
        if self.start_value is None:
            return None
        days = (to - from_).days + 1
        weighted = sum((mul(f.amount, Decimal((to - f.day).days + (1 if f.amount > 0 else 0))) for f in self.flows),
                       ZERO)
        return self.start_value + div(weighted, Decimal(days))


@dataclass(frozen=True, slots=True)
class Contribution:
    key: str
    start_value: Decimal | None
    end_value: Decimal | None
    net_flows: Decimal
    gain: Decimal | None
    return_: float | None
    contribution: float | None


def _ratio(numerator: Decimal | None, denominator: Decimal | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return float(numerator / denominator)


def contributions(portfolio: Holding, positions: Iterable[Holding], from_: date,
                  to: date) -> tuple[Contribution, list[Contribution], Contribution]:
    """(the portfolio, each position, cash as the rest) over [from_, to]."""
    invested = portfolio.invested(from_, to)
    rows = [Contribution(h.key, h.start_value, h.end_value, h.net_flows, h.gain,
                         _ratio(h.gain, h.invested(from_, to)), _ratio(h.gain, invested)) for h in positions]
    total = Contribution(portfolio.key, portfolio.start_value, portfolio.end_value, portfolio.net_flows,
                         portfolio.gain, _ratio(portfolio.gain, invested), _ratio(portfolio.gain, invested))
    gains = [row.gain for row in rows]
    cash_gain = None if total.gain is None or None in gains else total.gain - sum(gains, ZERO)
    cash = Contribution("cash", None, None, ZERO, cash_gain, None, _ratio(cash_gain, invested))
    return total, rows, cash
