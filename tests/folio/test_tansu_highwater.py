"""The tansu end-offset correction used by the dev/test harness."""
from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from folio.devenv import tansu_highwater


async def produce_in_batches(bootstrap: str, topic: str, batches: dict[int, list[int]]) -> None:
    """For each partition, write record batches of the given sizes, one produce request each."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    try:
        await producer.start()
        for partition, sizes in batches.items():
            for size in sizes:
                batch = producer.create_batch()
                for _ in range(size):
                    batch.append(key=None, value=b"v", timestamp=None)
                batch.close()
                await (await producer.send_batch(batch, topic, partition=partition))
    finally:
        await producer.stop()


@pytest.fixture
def patch_removed_afterwards():
    # A Stack started earlier in the same pytest process installs the patch.
    tansu_highwater.uninstall()
    yield
    tansu_highwater.uninstall()


@pytest.mark.integration
async def test_patched_end_offsets_are_the_true_log_end_where_tansu_lists_the_last_batch_start(
    broker, new_topic, patch_removed_afterwards
):
    topic = await new_topic(partitions=4)
    await produce_in_batches(broker, topic, {0: [5], 1: [3, 7], 2: [4, 1]})  # partition 3 stays empty
    partitions = [TopicPartition(topic, p) for p in range(4)]
    true_ends = {partitions[0]: 5, partitions[1]: 10, partitions[2]: 5, partitions[3]: 0}
    consumer = AIOKafkaConsumer(bootstrap_servers=broker)
    try:
        await consumer.start()
        listed = await consumer.end_offsets(partitions)
        tansu_highwater.install()
        corrected = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()

    # tansu's quirk, as seen by plain aiokafka: last batch's base offset + 1,
    # right only when that batch held a single record.
    assert listed == {partitions[0]: 1, partitions[1]: 4, partitions[2]: 5, partitions[3]: 0}
    assert corrected == true_ends


def test_install_is_idempotent_and_uninstall_restores_aiokafka(patch_removed_afterwards):
    original = AIOKafkaConsumer.end_offsets

    tansu_highwater.install()
    patched = AIOKafkaConsumer.end_offsets
    tansu_highwater.install()

    assert tansu_highwater.is_installed() and AIOKafkaConsumer.end_offsets is patched is not original
    tansu_highwater.uninstall()
    assert AIOKafkaConsumer.end_offsets is original
