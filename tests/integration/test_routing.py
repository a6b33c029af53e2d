"""With two positions workers, live reads reach whichever worker owns the portfolio."""
from __future__ import annotations

import httpx

from api.live import LiveClient
from tests.integration import api_reads
from tests.integration.conftest import publish_scenario
from tests.integration.worker_routing import partition_of, partition_owners
from tests.support.scenario import Mismatches, compare_cash, compare_positions, load_expected


def _raw_cash(state: dict) -> dict[str, str]:
    return {c["currency"]: c["balance"] for c in state["cash"]}


def _raw_realized(state: dict) -> dict[str, tuple[str, str]]:
    return {p["security_id"]: (p["realized_local"], p["realized_base"]) for p in state["positions"]}


async def test_live_reads_are_answered_by_the_partition_owner_with_the_expected_figures(start_stack):
    expected = load_expected("small")
    stack = await start_stack(workers=2)
    await publish_scenario(stack, "small")

    m = Mismatches()
    async with httpx.AsyncClient(timeout=30) as stranger:
        # The live pages answer the API only: reaching a worker's port is not access.
        for worker_url in stack.worker_urls():
            answer = await stranger.get(f"{worker_url}/live/portfolios/{next(iter(expected['portfolios']))}/")
            assert answer.status_code == 401, (worker_url, answer.status_code, answer.text[:200])
    async with httpx.AsyncClient(timeout=30, headers=stack.worker_headers) as client:
        owners = await partition_owners(client, stack.worker_urls()[0])
        assert set(owners.values()) == set(stack.worker_urls()), owners
        owned = {pid: owners[partition_of(pid)] for pid in expected["portfolios"]}
        assert len(set(owned.values())) == 2, f"one worker owns every scenario portfolio: {owned}"
        for worker_url in stack.worker_urls():
            for pid, exp in expected["portfolios"].items():
                # Ask each worker for every portfolio: those it does not own are forwarded.
                state = (await client.get(f"{worker_url}/live/portfolios/{pid}/")).raise_for_status().json()
                assert state["worker"] == owned[pid], f"{pid} asked at {worker_url}"
                compare_cash(m, f"{pid} via {worker_url}", exp["cash"], _raw_cash(state))
                realized = _raw_realized(state)
                for sid, position in exp["positions"].items():
                    m.dec(f"{pid}/{sid} via {worker_url} realized_local", position["realized_local"],
                          realized.get(sid, (None, None))[0])
                    m.dec(f"{pid}/{sid} via {worker_url} realized_base", position["realized_base"],
                          realized.get(sid, (None, None))[1])
        # Forwarded reads keep their state too: the version travels in the body, the owner's 304 back.
        asked, elsewhere = stack.worker_urls()[0], next(p for p, url in owned.items() if url != stack.worker_urls()[0])
        live = LiveClient(asked, token=stack.worker_token)
        try:
            first = await live.portfolio(elsewhere)
            assert first["worker"] != asked and await live.portfolio(elsewhere) is first
        finally:
            await live.aclose()
        async with stack.client(timeout=30) as api:
            for pid, exp in expected["portfolios"].items():
                compare_positions(m, pid, exp["cost_method"], exp["positions"], await api_reads.positions(api, pid))
                compare_cash(m, pid, exp["cash"], await api_reads.cash(api, pid))
    assert not m, "\n".join(m[:30])
