"""The scenarios replayed through the pure ledger in file order (no broker).

This pins the domain's figures to the scenarios' expected files; the
integration tests then check the same figures through Kafka and PostgreSQL.
"""
import pytest

from core.numbers import text
from core.store import MemoryStore
from tests.support.replay import replay
from tests.support.scenario import (
    Mismatches,
    compare_cash,
    compare_dead_letters,
    compare_positions,
    compare_realized_gains,
    compare_transactions,
    load_expected,
    scenario_params,
)


def actual_positions(store: MemoryStore, pid: str) -> dict[str, dict]:
    out = {}
    for (p, sid), pos in store.positions.items():
        if p != pid or not pos.listed:
            continue
        qty = pos.quantity
        out[sid] = {
            "quantity": text(qty), "cost_local": text(pos.cost_local), "cost_base": text(pos.cost_base),
            "avg_cost_local": None if qty == 0 else text(pos.cost_local / qty),
            "realized_local": text(pos.realized_local), "realized_base": text(pos.realized_base),
            "lots": [{"transaction_id": lot.transaction_id, "open_date": lot.open_date,
                      "quantity": text(lot.quantity), "cost_local": text(lot.cost_local),
                      "cost_base": text(lot.cost_base)} for lot in pos.lots],
        }
    return out


@pytest.mark.parametrize("name", scenario_params())
def test_scenario_figures_match_expected_when_replayed_in_file_order(name):
    expected = load_expected(name)
    store, dead = replay(name)
    m = Mismatches()
    for pid, exp in expected["portfolios"].items():
        compare_positions(m, pid, exp["cost_method"], exp["positions"], actual_positions(store, pid))
        compare_cash(m, pid, exp["cash"], {c.currency: c.balance for (p, _), c in store.cash.items()
                                           if p == pid and c.movers > 0})
        compare_transactions(m, pid, exp["transactions"], {
            tid: {"version": r.fields.version, "realized_local": r.realized_local,
                  "realized_base": r.realized_base, "cash": r.cash}
            for (p, tid), r in store.txs.items() if p == pid and r.effective})
    compare_dead_letters(m, expected["dead_letters"], dead)
    assert not m, "\n".join(m[:40]) + f"\n({len(m)} mismatches)"


@pytest.mark.parametrize("name", scenario_params())
def test_every_closing_trades_closed_lots_sum_to_its_expected_realized_pnl(name):
    expected = load_expected(name)
    store, _ = replay(name)
    m, checked, methods = Mismatches(), 0, set()
    for pid, exp in expected["portfolios"].items():
        gains = {tid: [(c.gain_local, c.gain_base) for c in r.closed]
                 for (p, tid), r in store.txs.items() if p == pid and r.effective and r.closed}
        checked += compare_realized_gains(m, pid, exp["transactions"], gains)
        methods.add(exp["cost_method"])
    assert not m, "\n".join(m[:40]) + f"\n({len(m)} mismatches)"
    assert checked > 0, f"{name}: no closing trade to check ({sorted(methods)})"
