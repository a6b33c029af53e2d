"""PostgreSQL going away stops nothing but the sink, which catches up when it returns."""
from __future__ import annotations

import asyncio

import httpx

from folio.produce import produce_events, produce_file, read_events
from tests.integration import api_reads
from tests.integration.conftest import REFERENCE
from tests.support.scenario import (
    Mismatches, compare_cash, compare_positions, compare_transactions, load_expected, scenario_path,
)


async def test_while_postgresql_is_down_live_reads_work_and_the_sink_catches_up_afterwards(start_stack):
    expected = load_expected("small")
    stack = await start_stack()
    events = scenario_path("small") / "events.jsonl"
    await produce_file(stack.bootstrap, events, REFERENCE)
    await stack.wait_idle(include_sink=False)
    some = next(iter(expected["portfolios"]))
    # Reads that go to PostgreSQL on every request, here once before it stops (their pooled
    # connections then die with it), during the outage, and after it is back.
    database_reads = [f"/portfolios/{some}/valuation", f"/portfolios/{some}/performance?period=SI"]
    await stack.wait_idle()  # the sink too: /performance is 404 until PostgreSQL has the portfolio
    async with stack.client(timeout=30) as client:
        assert [(await client.get(path)).status_code for path in database_reads] == [200, 200]

    await asyncio.to_thread(stack.postgres.stop)
    await produce_events(stack.bootstrap, read_events(events, {"transactions"}))
    await stack.wait_idle(include_sink=False)

    m = Mismatches()
    async with stack.client(timeout=30) as client:
        # The worker does not need the database: live figures are already complete.
        for pid, exp in expected["portfolios"].items():
            compare_positions(m, pid, exp["cost_method"], exp["positions"], await api_reads.positions(client, pid))
        assert (await client.get("/health/ready")).status_code == 503
        assert stack.supervisor.alive("sink")
        for path in database_reads:
            answer = await client.get(path)
            assert (answer.status_code, "database unavailable" in answer.text) == (503, True), (path, answer.text)

        await asyncio.to_thread(stack.postgres.start)
        await stack.wait_idle(timeout=120)
        for path in database_reads:
            answer = await client.get(path)
            assert answer.status_code == 200, (path, answer.text)
        for pid, exp in expected["portfolios"].items():
            compare_positions(m, pid, exp["cost_method"], exp["positions"],
                              await api_reads.positions(client, pid, expected["as_of"]))
            compare_cash(m, pid, exp["cash"], await api_reads.cash(client, pid, expected["as_of"]))
            compare_transactions(m, pid, exp["transactions"], await api_reads.transactions(client, pid))
    assert not m, "\n".join(m[:30])
