"""kill -9 of every stage, each while it has events in flight, changes no figure.

Stages: the positions worker (its batcher runs inside it), the sink and the
series worker (the API holds no state: test_failover covers its reads while
a worker is down). Each kill lands at a seeded random moment and is
shown to be mid-flight: records published before the kill that the stage's
consumer groups had not committed when it died (a dead process commits
nothing more, so its committed offsets after the kill are those at the kill).
Afterwards every figure of medium/expected.json is compared.
"""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import httpx
import pytest

from folio.devenv.progress import group_offsets
from folio.devenv.stack import Stack
from folio.produce import kafka_producer, produce_file, read_events, send_all
from tests.integration.conftest import REFERENCE
from tests.integration.expected_figures import compare_everything, report
from tests.support.scenario import load_expected, scenario_path

STAGES = ("positions", "sink", "series")


@dataclass
class Kill:
    stage: str
    at: float  # seconds since the stream started
    in_flight: int  # records published before the kill and not committed by the stage when it died

    def __str__(self) -> str:
        return f"{self.stage}@{self.at:.1f}s({self.in_flight} in flight)"


def _stage_groups(stack: Stack, stage: str) -> dict[str, list[str]]:
    """The consumer groups whose progress shows what a stage has in flight."""
    groups = stack.lag_groups(include_sink=True)
    app = f"{stack.app_id}-positions"
    return {"positions": {g: groups[g] for g in (f"{app}-batcher", app)},
            "sink": {f"{stack.app_id}-sink": groups[f"{stack.app_id}-sink"]},
            "series": {f"{stack.app_id}-series": groups[f"{stack.app_id}-series"]}}[stage]


async def _in_flight(stack: Stack, groups: dict[str, list[str]], ends: dict[str, dict]) -> int:
    """Records below `ends` that the groups have not committed."""
    count = 0
    for g, topics in groups.items():
        committed = (await group_offsets(stack.bootstrap, g, topics))[1]
        count += sum(max(0, end - committed[tp]) for tp, end in ends[g].items())
    return count


async def _kill_mid_flight(stack: Stack, stage: str, started: float, patience: float = 120) -> Kill | None:
    """Kill `stage` as soon as its groups have records in flight; None if they had none within `patience` s.

    A kill that races the stage's commit and finds nothing in flight does not
    count: the stage is restarted and killed again.
    """
    groups = _stage_groups(stack, stage)
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        offsets = {g: await group_offsets(stack.bootstrap, g, topics) for g, topics in groups.items()}
        if not any(end > committed[tp] for ends, committed in offsets.values() for tp, end in ends.items()):
            await asyncio.sleep(0.05)
            continue
        stack.supervisor.kill(stage)  # SIGKILL: no shutdown hooks, no flush, no commit
        at = time.monotonic() - started
        in_flight = await _in_flight(stack, groups, {g: ends for g, (ends, _) in offsets.items()})
        if in_flight:
            return Kill(stage, at, in_flight)
        stack.supervisor.restart(stage)
        await stack.wait_ready(timeout=300)
    return None


async def _kill_every_stage(stack: Stack, rng: random.Random, started: float, extra: int) -> list[Kill]:
    schedule = rng.sample(STAGES, len(STAGES)) + [rng.choice(STAGES) for _ in range(extra)]
    kills = []
    for stage in schedule:
        await asyncio.sleep(rng.uniform(0.2, 2.0))
        kill = await _kill_mid_flight(stack, stage, started)
        if kill is None:  # the stream ended first: nothing left in flight to kill
            break
        kills.append(kill)
        await asyncio.sleep(rng.uniform(0.0, 1.0))
        stack.supervisor.restart(stage)
        await stack.wait_ready(timeout=300)
    return kills


async def _trickle(stack: Stack, transactions: list, busy: asyncio.Task) -> None:
    """A slow stream while the killer works, so that every kill has records to land among; then the rest."""
    producer = kafka_producer(stack.bootstrap)
    await producer.start()
    try:
        sent = 0
        while sent < len(transactions) and not busy.done():
            sent += await send_all(producer, transactions[sent:sent + 10])
            await asyncio.sleep(0.3)
        await send_all(producer, transactions[sent:])
    finally:
        await producer.stop()


@pytest.mark.parametrize("seed", [20261126, 7])
async def test_killing_every_stage_mid_flight_leaves_every_figure_as_expected(start_stack, seed):
    expected = load_expected("medium")
    # Consumers ask the broker with a 500 ms fetch wait (aiokafka's default; Folio's is 50 ms), so
    # that each stage holds records long enough for the killer to find them in flight; what a crash
    # may lose does not depend on it (offsets are committed after the writes either way).
    stack = await start_stack(extra_env={"FOLIO_FEED_FETCH_WAIT_MS": "500"})
    events = scenario_path("medium") / "events.jsonl"
    await produce_file(stack.bootstrap, events, REFERENCE)
    await stack.wait_idle(include_sink=False)

    rng = random.Random(seed)
    started = time.monotonic()
    killer = asyncio.create_task(_kill_every_stage(stack, rng, started, extra=1))
    await _trickle(stack, read_events(events, {"transactions"}), killer)
    kills = await killer
    await stack.wait_ready(timeout=300)
    await stack.wait_idle(timeout=600)
    print(f"\nseed {seed}: killed {', '.join(map(str, kills))}")

    assert {k.stage for k in kills} == set(STAGES), f"not every stage was killed mid-flight: {kills}"
    assert all(k.in_flight > 0 for k in kills), f"a kill landed with nothing in flight: {kills}"
    async with stack.client(timeout=30) as client:
        m = await compare_everything(client, expected)
    assert not m, f"after killing {kills}:\n" + report(m)
