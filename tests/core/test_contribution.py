"""core.contribution: Modified Dietz returns and contributions, worked out by hand."""
from __future__ import annotations

from datetime import date

import pytest

from core.contribution import Flow, Holding, contributions
from tests.core.factories import D

FROM, TO = date(2024, 1, 1), date(2024, 1, 10)  # 10 days


def _book():
    # 1000 cash at the start; BUY 5 @ 100 on the 3rd; DEPOSIT 200 on the 6th; SELL 2 @ 110 on the 8th;
    # at the end 3 @ 120 = 360 and cash 1000 − 500 + 200 + 220 = 920: 1280 in all.
    portfolio = Holding("P1", D(1000), D(1280), (Flow(date(2024, 1, 6), D(200)),))
    aapl = Holding("AAPL", D(0), D(360), (Flow(date(2024, 1, 3), D(500)), Flow(date(2024, 1, 8), D(-220))))
    return portfolio, aapl


def test_a_position_bought_and_partly_sold_within_the_period():
    portfolio, aapl = _book()
    total, (row,), cash = contributions(portfolio, [aapl], FROM, TO)
    # Portfolio: gain 1280 − 1000 − 200 = 80; invested 1000 + 200 × 5/10 (in from the 6th's start) = 1100.
    assert (total.gain, total.return_) == (D(80), pytest.approx(80 / 1100))
    # AAPL: gain 360 − (500 − 220) = 80; invested 500 × 8/10 − 220 × 2/10 (out at the 8th's end) = 356.
    assert (row.gain, row.net_flows) == (D(80), D(280))
    assert row.return_ == pytest.approx(80 / 356)
    assert row.contribution == pytest.approx(80 / 1100)
    # Cash earned nothing: the position's contribution is the whole return.
    assert (cash.gain, cash.contribution) == (D(0), 0.0)


def test_contributions_add_up_to_the_portfolios_return_with_cash_taking_the_rest():
    portfolio = Holding("P1", D(1000), D(1290), (Flow(date(2024, 1, 6), D(200)),))  # 10 of interest
    _, aapl = _book()
    total, rows, cash = contributions(portfolio, [aapl], FROM, TO)
    assert cash.gain == D(10)
    assert sum(r.contribution for r in rows) + cash.contribution == pytest.approx(total.return_)


def test_an_unknown_value_makes_what_needs_it_unknown_never_zero():
    portfolio, aapl = _book()
    unpriced = Holding("BMW", None, D(50))
    total, rows, cash = contributions(Holding("P1", None, D(1280)), [aapl, unpriced], FROM, TO)
    assert (rows[1].gain, rows[1].return_, rows[1].contribution) == (None, None, None)
    assert rows[0].gain == D(80) and rows[0].contribution is None  # no portfolio capital to divide by
    assert (total.gain, total.return_, cash.gain) == (None, None, None)
