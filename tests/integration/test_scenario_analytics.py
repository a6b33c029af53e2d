"""The scenarios' valuation, daily series and analytics through the real broker,
workers, sink, series topology and PostgreSQL, read over HTTP."""
from __future__ import annotations

import httpx
import pytest

from tests.integration import analytics_reads as reads
from tests.integration.conftest import publish_scenario
from tests.support.scenario import Mismatches, load_expected


def _report(m: Mismatches) -> str:
    return "\n".join(m[:40]) + f"\n({len(m)} mismatches)"


@pytest.mark.parametrize("name", ["small", "medium"])
async def test_scenario_valuation_series_and_analytics_match_expected(start_stack, name):
    expected = load_expected(name)
    as_of = expected["as_of"]
    stack = await start_stack()
    await publish_scenario(stack, name)
    m = Mismatches()
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        for pid, exp in expected["portfolios"].items():
            for when in (None, as_of):  # live from the worker, then from PostgreSQL
                await reads.compare_position_values(m, client, pid, exp, when)
                await reads.compare_cash_values(m, client, pid, exp, when)
                await reads.compare_valuation(m, client, pid, exp, when)
                await reads.compare_allocation(m, client, pid, exp, when)
            await reads.compare_timeseries(m, client, pid, exp, as_of)
            await reads.compare_performance(m, client, pid, exp)
            await reads.compare_risk(m, client, pid, exp)
    assert not m, _report(m)
