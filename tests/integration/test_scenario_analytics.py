"""The scenarios' valuation, daily series and analytics through the real broker,
workers, sink, series topology and PostgreSQL, read over HTTP."""
from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import publish_scenario
from tests.integration.expected_figures import compare_analytics, report
from tests.support.scenario import Mismatches, load_expected


@pytest.mark.parametrize("name", ["small", "medium"])
async def test_scenario_valuation_series_and_analytics_match_expected(start_stack, name):
    expected = load_expected(name)
    stack = await start_stack()
    await publish_scenario(stack, name)
    m = Mismatches()
    async with stack.client(timeout=30) as client:
        await compare_analytics(m, client, expected)
    assert not m, report(m)
