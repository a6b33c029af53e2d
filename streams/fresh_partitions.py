"""Source partitions are sought before anything of theirs is read, and a never-committed one from its start.

Faust 0.15.3 (faust-streaming) can skip a source partition's records after a
rebalance in which a table was recovered from its changelog. Its fetcher runs
during that recovery; when the recovery ends Faust resumes the source
partitions and only then seeks them to their committed offsets
(`Recovery.on_recovery_completed` / `_resume_streams` -> `Consumer.
perform_seek`). In between, the fetcher reads them: those records go to
stream queues that are cleared when the flow resumes, and the consumer's
position and Faust's read offset move past them. A partition with a commit is
put back by the seek, but aiokafka's `seek_to_committed` leaves one without a
commit (or committed at 0) alone, so the dropped records were never processed
and the group's lag for them never went down. Seen on the development broker
with events published to a new partition while its worker was down and a
restart that recovered a table (tests/integration/test_fresh_partitions.py);
nothing in it is specific to that broker.

`install(app)` changes two things on the app's consumer:
- Faust's resumption of a source partition (a topic an agent reads) takes
  effect only once the seek that follows it is done, so nothing of it is read
  before it is in place;
- the seek also puts every source partition without a commit at offset 0
  (the broker moves it to the log start if that was deleted): what
  `auto_offset_reset="earliest"` means, also when Faust seeks back after
  records were read while its flow was stopped (`Consumer.getmany`).
Records read twice this way are those a seek moves back over, as Faust's own
seek back to a committed offset does: the ledger finds any it already
applied, and a reference record dead-lettered twice is stored once (keyed by
its source offset). A seek cancelled by another rebalance keeps the
partitions held until that rebalance's seek; one that fails otherwise exits
the worker (it would read nothing of them for ever).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

log = logging.getLogger(__name__)


def install(app: Any, exit_process: Callable[[int], None] = os._exit) -> None:
    consumer = app.consumer
    resume_partitions, perform_seek, seek_to_committed = (
        consumer.resume_partitions, consumer.perform_seek, consumer.seek_to_committed)
    held: set[Any] = set()  # source partitions Faust resumed, until the seek after it is done

    def sources() -> set[str]:
        return {topic for agent in app.agents.values() for topic in agent.get_topic_names()}

    def resume_after_the_seek(tps: Iterable[Any]) -> None:
        tps = set(tps)
        names = sources()
        waiting = {tp for tp in tps if tp.topic in names}
        held.update(waiting)
        resume_partitions(tps - waiting)

    async def seek_then_resume() -> None:
        generation = app.consumer_generation_id
        try:
            await perform_seek()
        except BaseException:
            # Cancelled by a new rebalance: its recovery seeks again and releases them. Failed
            # (Faust's timeout cancels it too) with no rebalance to follow: Faust would go on
            # with these partitions paused, reading nothing for ever; die instead, to be
            # restarted and have them assigned again.
            if held and app.consumer_generation_id == generation:
                log.critical("seeking the source partitions failed; exiting so that they are assigned again",
                             exc_info=True)
                exit_process(70)
            raise
        resuming = held & set(consumer.assignment())
        held.clear()
        resume_partitions(resuming)

    async def seek_to_committed_or_first(*args: Any, **kwargs: Any) -> Mapping[Any, int]:
        committed = await seek_to_committed(*args, **kwargs)
        names = sources()
        fresh = sorted(tp for tp, offset in committed.items()
                       if tp.topic in names and (offset is None or offset <= 0))
        for tp in fresh:
            await consumer.seek(tp, 0)
        if fresh:
            log.info("source partitions without a commit read from offset 0: %s",
                     ", ".join(f"{tp.topic}[{tp.partition}]" for tp in fresh))
        return committed

    consumer.resume_partitions = resume_after_the_seek
    consumer.perform_seek = seek_then_resume
    consumer.seek_to_committed = seek_to_committed_or_first
