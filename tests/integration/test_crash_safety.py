"""kill -9 of the worker and the sink while `medium` flows changes no figure."""
from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from folio.produce import produce_events, produce_file, read_events
from tests.integration import api_reads
from tests.integration.conftest import REFERENCE
from tests.support.scenario import Mismatches, load_expected, scenario_path


async def _kill_repeatedly(stack, rng: random.Random, rounds: int) -> list[str]:
    killed = []
    for _ in range(rounds):
        await asyncio.sleep(rng.uniform(0.5, 3.0))
        name = rng.choice(["positions", "sink", "positions"])
        stack.supervisor.kill(name)  # SIGKILL: no shutdown hooks, no flush, no commit
        killed.append(name)
        await asyncio.sleep(rng.uniform(0.0, 1.0))
        stack.supervisor.restart(name)
    return killed


@pytest.mark.parametrize("seed", [20261122, 7])
async def test_killing_worker_and_sink_mid_stream_leaves_every_figure_as_expected(start_stack, seed):
    name = "medium"
    expected = load_expected(name)
    stack = await start_stack()
    events = scenario_path(name) / "events.jsonl"
    await produce_file(stack.bootstrap, events, REFERENCE)
    await stack.wait_idle(include_sink=False)

    rng = random.Random(seed)
    killer = asyncio.create_task(_kill_repeatedly(stack, rng, rounds=4))
    # Trickle the transactions in so the kills land while they are being applied.
    transactions = read_events(events, {"transactions"})
    for start in range(0, len(transactions), 200):
        await produce_events(stack.bootstrap, transactions[start:start + 200])
        await asyncio.sleep(0.6)
    killed = await killer
    await stack.wait_ready()
    await stack.wait_idle(timeout=600)

    m = Mismatches()
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        await api_reads.compare_book(m, client, expected)
    assert not m, f"after killing {killed}:\n" + "\n".join(m[:30]) + f"\n({len(m)} mismatches)"
