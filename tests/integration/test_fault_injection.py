"""Every stage crashed at each of its named points while `small` flows: every figure still as expected.

FOLIO_FAULTS (folio/faults.py) makes a stage exit abruptly at a point between
two of its steps (after a write, before the acknowledgement that follows);
a watchdog restarts it, as `folio up` does. Nothing may be lost or counted
twice: exactly the rejected input offsets are dead-lettered, once each; every
stored transaction version is booked at the offset of the line that carried
it; dead letters by reason and every portfolio's positions, lots, cash and
transactions equal expected.json.
"""
from __future__ import annotations

import asyncio
import json
from collections import defaultdict

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from folio.dlq import read_to_end
from folio.faults import POINTS
from folio.devenv.stack import INPUT_TOPICS
from tests.integration import api_reads
from tests.integration.conftest import publish_scenario
from tests.support.scenario import Mismatches, compare_dead_letters, event_lines, load_expected

# Each point crashes its stage the first time it is passed (once per run: a
# stage's points fire one after the other across its restarts).
FAULTS = ",".join(f"{point}:1" for point in sorted(POINTS))
Where = tuple[str, int, int]  # (topic, partition, offset)


async def _where_each_line_landed(bootstrap: str, lines: list[dict]) -> list[Where]:
    """(topic, partition, offset) of every scenario line, read back from the broker.

    Each key's records keep file order on their partition, so the n-th line of
    a (topic, key) is the n-th record of that key: no partitioner assumed."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
    await consumer.start()
    try:
        await consumer.topics()
        tps = [TopicPartition(t, p) for t in INPUT_TOPICS for p in sorted(consumer.partitions_for_topic(t))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records = await read_to_end(consumer, tps)
    finally:
        await consumer.stop()
    by_key: dict[tuple[str, bytes], list[Where]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        by_key[(r.topic, r.key)].append((r.topic, r.partition, r.offset))
    landed = []
    for line in lines:
        landed.append(by_key[(line["topic"], line["key"].encode())].pop(0))
    assert not any(by_key.values()), "records on the topics that no line accounts for"
    return landed


async def _assert_each_offset_booked_or_dead_lettered_once(stack, expected: dict) -> None:
    lines = event_lines("small")
    landed = await _where_each_line_landed(stack.bootstrap, lines)
    dead = {landed[item["line"] - 1] for item in expected["dead_letters"]["items"]}
    # The version in effect of each transaction id books at the offset of its first line.
    first_offset: dict[tuple[str, str, int], int] = {}
    for line, (topic, _, offset) in zip(lines, landed):
        if topic == "transactions" and (topic, _, offset) not in dead:
            v = line["value"] if isinstance(line["value"], dict) else json.loads(line["value"])
            first_offset.setdefault((v["portfolio_id"], v["transaction_id"], v.get("version", 1)), offset)
    conn = await asyncpg.connect(stack.dsn)
    try:
        letters = [(r["source_topic"], r["source_partition"], r["source_offset"]) for r in await conn.fetch(
            "SELECT source_topic, source_partition, source_offset FROM dead_letters")]
        booked = {(r["portfolio_id"], r["transaction_id"], r["version"]): r["arrival"] for r in await conn.fetch(
            "SELECT portfolio_id, transaction_id, version, arrival FROM transactions")}
    finally:
        await conn.close()
    assert sorted(letters) == sorted(dead)  # each rejected offset once, nothing else
    # Every stored version is the one its first line carried (compare_transactions checks which are in effect).
    assert booked == {k: first_offset.get(k) for k in booked}


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

    await _assert_each_offset_booked_or_dead_lettered_once(stack, expected)
    m = Mismatches()
    async with stack.client(timeout=30) as client:
        compare_dead_letters(m, expected["dead_letters"], await api_reads.dead_letters_by_reason(client))
        await api_reads.compare_book(m, client, expected)
    assert not m, f"after crashes at {sorted(fired)}:\n" + "\n".join(m[:30]) + f"\n({len(m)} mismatches)"
