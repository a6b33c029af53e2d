"""streams.fresh_partitions: a worker restarted with a table to recover still reads a partition never committed.

Faust's fetcher runs during the recovery and reads such a partition before the
seek to committed offsets, which leaves it alone; the records it read are
dropped. Without the fix the portfolios below were never booked and the
group's lag stayed at 3.
"""
from __future__ import annotations

import asyncio
import time

from rocksdict import Options, Rdict

from folio.devenv.progress import group_lag
from folio.produce import produce_events, read_events
from tests.support.scenario import scenario_path

OFFSET_KEY = b"__faust\x00offset__"  # where Faust's RocksDB store keeps a partition's persisted changelog offset


async def test_events_published_to_a_new_partition_while_the_worker_was_down_are_applied_after_a_recovery(
        start_stack):
    stack = await start_stack()
    definitions = read_events(scenario_path("small") / "events.jsonl", {"portfolios"})
    first, later = definitions[:2], definitions[2:]  # P001 and P002; then PX-EDGE's partition gets its first
    await produce_events(stack.bootstrap, first)
    await stack.wait_idle(include_sink=False)
    name = stack.worker_names()[0]
    stack.supervisor.kill(name)
    # The worker's `books` databases forget their persisted offsets, so its restart recovers them.
    forgotten = 0
    for path in stack.worker_dir(0).glob("**/books-*.db"):
        db = Rdict(str(path), options=Options(raw_mode=True))
        try:
            if db.get(OFFSET_KEY) is not None:
                db.delete(OFFSET_KEY)
                forgotten += 1
        finally:
            db.close()
    assert forgotten, "no books partition had a persisted offset"
    await produce_events(stack.bootstrap, later)  # a partition of `portfolios` the group never committed
    stack.supervisor.start(stack.supervisor.specs[name])
    await stack.wait_ready()

    deadline = time.monotonic() + 60
    while (lag := await group_lag(stack.bootstrap, "folio-positions", ["portfolios"])) != 0:
        assert time.monotonic() < deadline, f"portfolios never read after the restart: lag {lag}"
        await asyncio.sleep(0.5)
    await stack.wait_idle()
    async with stack.client() as client:
        answer = await client.get("/portfolios/PX-EDGE")
    assert answer.status_code == 200, answer.text
