"""Every stage crashed at each of its named points while `small` flows: every figure still as expected.

FOLIO_FAULTS (folio/faults.py) makes a stage exit abruptly at a point between
two of its steps (after a write, before the acknowledgement that follows);
a watchdog restarts it, as `folio up` does. Nothing may be lost or counted
twice: dead letters by reason and every portfolio's positions, lots, cash and
transactions equal expected.json.
"""
from __future__ import annotations

import asyncio

import httpx

from folio.faults import POINTS
from tests.integration import api_reads
from tests.integration.conftest import publish_scenario
from tests.support.scenario import Mismatches, compare_dead_letters, load_expected

# Each point crashes its stage the first time it is passed (once per run: a
# stage's points fire one after the other across its restarts).
FAULTS = ",".join(f"{point}:1" for point in sorted(POINTS))

async def _restart_crashed(stack, restarted: list[str]) -> None:
    while True:
        for name in list(stack.supervisor.children):
            if not stack.supervisor.alive(name):
                restarted.append(name)
                stack.supervisor.restart(name)
        await asyncio.sleep(0.5)


async def test_crashing_every_stage_at_every_point_loses_nothing_and_counts_nothing_twice(start_stack):
    expected = load_expected("small")
    stack = await start_stack(extra_env={"FOLIO_FAULTS": FAULTS})
    restarted: list[str] = []
    watchdog = asyncio.create_task(_restart_crashed(stack, restarted))
    try:
        await publish_scenario(stack, "small")
        # Let the last restarted stage finish what it re-reads.
        await stack.wait_ready()
        await stack.wait_idle(timeout=600)
    finally:
        watchdog.cancel()
    fired = {p.name.replace("-", ":", 1) for p in (stack.data_dir / "faults-fired").iterdir()}
    assert fired == POINTS, f"faults that never fired: {sorted(POINTS - fired)}"
    assert sorted(set(restarted)) == ["positions", "series", "sink"]

    m = Mismatches()
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        compare_dead_letters(m, expected["dead_letters"], await api_reads.dead_letters_by_reason(client))
        await api_reads.compare_book(m, client, expected)
    assert not m, f"after crashes at {sorted(fired)}:\n" + "\n".join(m[:30]) + f"\n({len(m)} mismatches)"
