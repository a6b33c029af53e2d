"""The independent ledger model itself reproduces the scenarios' expected lots, realized P&L and cash.

The model (tests/support/ledger_model.py) is what the property test and the demo
test hold the ledger to; here it is pinned to the scenarios' reference figures,
so that a misreading of the SPEC shared by the model and the ledger shows up.
Events are decoded by schemas.decode (invalid ones are dead letters and left out).
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from schemas.decode import Rejection, decode_event
from tests.support.ledger_model import replay_events
from tests.support.scenario import (
    Mismatches,
    compare_cash,
    compare_positions,
    load_expected,
    published_messages,
    scenario_params,
)


def decoded_events(name: str) -> list[dict]:
    """The scenario's valid events as {"topic", "value"} with JSON-form values (decimals as text)."""
    events = []
    for topic, key, raw in published_messages(name):
        event = decode_event(topic, key, raw)
        if not isinstance(event, Rejection):
            events.append({"topic": topic, "value": event.model_dump(mode="json")})
    return events


def dec(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


@pytest.mark.parametrize("name", scenario_params())
def test_the_model_gives_the_scenarios_expected_lots_realized_and_cash(name):
    expected = load_expected(name)
    model, _ = replay_events(decoded_events(name))
    positions, cash = model.positions(), model.cash()
    m = Mismatches()
    for pid, exp in expected["portfolios"].items():
        got = {}
        for (p, sid), position in positions.items():
            if p != pid or not position.listed:
                continue
            quantity = sum((lot.quantity for lot in position.lots), Fraction(0))
            cost_local = sum((lot.cost_local for lot in position.lots), Fraction(0))
            got[sid] = {
                "quantity": dec(quantity), "cost_local": dec(cost_local),
                "cost_base": dec(sum((lot.cost_base for lot in position.lots), Fraction(0))),
                "avg_cost_local": None if quantity == 0 else dec(cost_local / quantity),
                "realized_local": dec(position.realized_local), "realized_base": dec(position.realized_base),
                "lots": [{"transaction_id": lot.transaction_id, "open_date": lot.open_date,
                          "quantity": dec(lot.quantity), "cost_local": dec(lot.cost_local),
                          "cost_base": dec(lot.cost_base)} for lot in position.lots],
            }
        compare_positions(m, pid, exp["cost_method"], exp["positions"], got)
        compare_cash(m, pid, exp["cash"], {ccy: dec(amount) for (p, ccy), amount in cash.items() if p == pid})
    assert not m, "\n".join(m[:40]) + f"\n({len(m)} mismatches)"
