"""A kept live state (api.live, unchanged since the worker's last answer) is valued once (api.valuation)."""
from __future__ import annotations

import copy
from decimal import Decimal

from api.valuation import value_live
from tests.api.live_state import cash, live_answer, lot, position


def _state() -> dict:
    return live_answer("P1", positions=[position("P1", "AAPL", lot("T1", "2024-01-02", 3, "10", "1502.50"))],
                       cash_states=[cash("P1", "USD", "97.50")])


def test_the_same_kept_state_is_valued_once():
    state = _state()
    assert value_live(state) is value_live(state)


def test_an_equal_state_of_a_new_answer_is_valued_afresh_to_the_same_figures():
    state = _state()
    first = value_live(state)
    again = value_live(copy.deepcopy(state))
    assert again is not first and again == first
    assert (first.cost_base, first.known_cash_mv_base) == (Decimal("1502.50"), Decimal("97.50"))


def test_the_same_state_with_another_income_is_valued_with_that_income():
    state = _state()
    assert value_live(state).income_base == 0
    assert value_live(state, Decimal("12.25")).income_base == Decimal("12.25")
