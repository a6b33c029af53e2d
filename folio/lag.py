"""Consumer lag per group and partition: records on a partition its group has not committed.

Plain Kafka: ends from `AIOKafkaConsumer.end_offsets` (ListOffsets latest),
commits from the group coordinator. The development harness corrects the end
offsets of its broker process-wide (folio.devenv.tansu_highwater), which is
why the harness starts the API through folio.devenv.api.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from folio.consumer_groups import ConsumerGroup


@dataclass(frozen=True)
class PartitionLag:
    stage: str
    group_id: str
    topic: str
    partition: int
    end: int
    committed: int  # 0 when the group has committed nothing there yet

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


async def partition_lags(bootstrap: str, groups: Sequence[ConsumerGroup],
                         request_timeout_ms: int = 10_000) -> list[PartitionLag]:
    """Every partition of every group's topics (topics not created yet are left out)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                request_timeout_ms=request_timeout_ms)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=request_timeout_ms)
    try:
        await consumer.start()
        await admin.start()
        existing = await consumer.topics()
        wanted = {t for g in groups for t in g.topics if t in existing}
        all_tps = [TopicPartition(t, p) for t in sorted(wanted) for p in sorted(consumer.partitions_for_topic(t) or [])]
        committed: dict[str, dict[TopicPartition, int]] = {}
        for group in groups:
            tps = [tp for tp in all_tps if tp.topic in group.topics]
            if tps:
                # Partitions named explicitly: some brokers (tansu) list nothing otherwise.
                found = await admin.list_consumer_group_offsets(group.group_id, partitions=tps)
                committed[group.group_id] = {
                    tp: meta.offset if (meta := found.get(tp)) is not None and meta.offset >= 0 else 0 for tp in tps}
        # The ends are read after every commit: work in flight between two stages (a record
        # produced downstream before its source offset is committed upstream) shows as lag
        # somewhere, never as a chain that looks idle.
        ends = await consumer.end_offsets(all_tps) if all_tps else {}
        return [PartitionLag(group.stage, group.group_id, tp.topic, tp.partition, ends[tp], done)
                for group in groups for tp, done in committed.get(group.group_id, {}).items()]
    finally:  # also after a failed or cancelled start: nothing is left open
        await consumer.stop()
        await admin.close()
