"""With two positions workers, live reads reach whichever worker owns the portfolio."""
from __future__ import annotations

import httpx

from tests.integration import api_reads
from tests.integration.conftest import publish_scenario
from tests.support.scenario import Mismatches, compare_cash, compare_positions, load_expected


async def test_live_reads_are_right_whichever_worker_owns_the_portfolio(start_stack):
    expected = load_expected("small")
    stack = await start_stack(workers=2)
    await publish_scenario(stack, "small")

    async with httpx.AsyncClient(timeout=30) as client:
        # Faust's router view: which worker holds which table partitions.
        owners = (await client.get(f"{stack.worker_urls()[0]}/router/")).json()
        holding = {host for host, tables in owners.items() if tables.get("folio-positions-positions-changelog")}
        assert len(holding) == 2, owners

        m = Mismatches()
        for worker_url in stack.worker_urls():
            for pid, exp in expected["portfolios"].items():
                # Ask each worker for every portfolio: those it does not own are routed.
                body = (await client.get(f"{worker_url}/live/portfolios/{pid}/")).raise_for_status().json()
                assert body["book"]["portfolio_id"] == pid
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as api:
            for pid, exp in expected["portfolios"].items():
                compare_positions(m, pid, exp["cost_method"], exp["positions"], await api_reads.positions(api, pid))
                compare_cash(m, pid, exp["cash"], await api_reads.cash(api, pid))
    assert not m, "\n".join(m[:30])
