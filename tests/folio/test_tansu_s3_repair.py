"""Offsets tansu reserved but never wrote (killed mid-write) no longer stop consumers once the store is mended."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from folio.devenv.broker import TansuBroker
from folio.devenv.seaweed import BUCKET, SeaweedS3
from folio.devenv.tansu_s3_repair import mend_store

pytestmark = pytest.mark.integration

PARTITION = f"/buckets/{BUCKET}/clusters/tansu_cluster/topics/t/partitions/0000000000"


@pytest.fixture
def s3(tmp_path: Path):
    server = SeaweedS3(tmp_path / "broker" / "seaweedfs", tmp_path / "logs").start()
    yield server
    server.stop()


async def _produce(bootstrap: str, count: int) -> list[int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        return [(await producer.send_and_wait("t", b"v%d" % i, partition=0)).offset for i in range(count)]
    finally:
        await producer.stop()


async def _offsets(bootstrap: str, until: int) -> list[int]:
    """Offsets read from the start until `until` is reached (the test fails by timeout if it never is)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
    tp = TopicPartition("t", 0)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, 0)
        seen: list[int] = []
        while not seen or seen[-1] < until:
            batches = await consumer.getmany(tp, timeout_ms=500)
            seen += [record.offset for record in batches.get(tp, [])]
        return seen
    finally:
        await consumer.stop()


async def _create_topic(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic("t", 1, 1)])
    finally:
        await admin.close()


async def test_reserved_but_unwritten_offsets_are_given_back_or_stepped_over(tmp_path: Path, s3: SeaweedS3):
    broker = TansuBroker(tmp_path / "logs", s3=s3)
    broker.start()
    await _create_topic(broker.bootstrap)
    assert await _produce(broker.bootstrap, 10) == list(range(10))
    broker.stop()
    with httpx.Client(base_url=s3.filer_url) as filer:
        # A writer killed after reserving offsets 10..14, before writing them.
        filer.put(f"{PARTITION}/watermark.json", content=b'{"low":null,"high":15,"timestamps":null}').raise_for_status()
        # A writer killed before writing offset 5 while the writers after it finished.
        filer.delete(f"{PARTITION}/records/{5:020d}.batch").raise_for_status()

    repairs = [str(r) for r in mend_store(s3.filer_url, BUCKET)]

    assert repairs == ["t[0] offsets 5..5 (filled with an empty batch)", "t[0] offsets 10..14 (watermark lowered)"]
    assert mend_store(s3.filer_url, BUCKET) == []  # mended once, nothing left to mend
    broker.start()
    try:
        assert await _produce(broker.bootstrap, 1) == [10]  # the unwritten offsets are reused
        assert await _offsets(broker.bootstrap, until=10) == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    finally:
        broker.stop()


def test_a_partition_that_lists_no_batches_is_left_alone_whatever_its_watermark(s3: SeaweedS3):
    # Just after a start the filer once listed nothing under a partition full of batches;
    # "lowering" its watermark to 0 then dropped every record of the partition.
    watermark = b'{"low":null,"high":27805,"timestamps":null}'
    with httpx.Client(base_url=s3.filer_url) as filer:
        filer.put(f"{PARTITION}/watermark.json", content=watermark).raise_for_status()

        assert mend_store(s3.filer_url, BUCKET) == []
        assert filer.get(f"{PARTITION}/watermark.json").content == watermark
