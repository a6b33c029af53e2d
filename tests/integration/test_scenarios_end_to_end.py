"""The shared scenarios through the real broker, worker, sink and PostgreSQL, read over HTTP."""
from __future__ import annotations

import httpx
import pytest

from tests.integration import api_reads
from tests.integration.conftest import publish_scenario
from tests.support.scenario import (
    Mismatches, compare_cash, compare_dead_letters, compare_positions, compare_realized_gains, compare_transactions,
    load_expected,
)


async def _compare_everything(client: httpx.AsyncClient, expected: dict, as_of: str | None) -> Mismatches:
    m = Mismatches()
    for pid, exp in expected["portfolios"].items():
        compare_positions(m, pid, exp["cost_method"], exp["positions"],
                          await api_reads.positions(client, pid, as_of))
        compare_cash(m, pid, exp["cash"], await api_reads.cash(client, pid, as_of))
        if as_of is None:
            compare_transactions(m, pid, exp["transactions"], await api_reads.transactions(client, pid))
            compare_realized_gains(m, pid, exp["transactions"], await api_reads.realized_gains(client, pid))
    compare_dead_letters(m, expected["dead_letters"], await api_reads.dead_letters_by_reason(client))
    return m


@pytest.mark.parametrize("name", ["small", "medium"])
async def test_scenario_figures_match_expected_live_and_from_postgresql(start_stack, name):
    expected = load_expected(name)
    stack = await start_stack()
    await publish_scenario(stack, name)
    async with stack.client(timeout=30) as client:
        live = await _compare_everything(client, expected, as_of=None)
        stored = await _compare_everything(client, expected, as_of=expected["as_of"])
    assert not live, "live:\n" + "\n".join(live[:30]) + f"\n({len(live)} mismatches)"
    assert not stored, "as_of:\n" + "\n".join(stored[:30]) + f"\n({len(stored)} mismatches)"
