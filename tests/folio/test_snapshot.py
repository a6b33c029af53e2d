"""Saving the development broker's topics and group offsets to disk, and restoring them."""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from folio.devenv import snapshot
from folio.devenv.snapshot import (
    SnapshotError,
    SnapshotMismatch,
    read_snapshot_info,
    restore_snapshot,
    save_snapshot,
)
from folio.dlq import read_to_end
from folio.produce import publish
from tests.folio.conftest import create_counter_topic, wait_for_line

GROUP = "folio-positions"
CHANGELOG = "folio-positions-changelog"
LEADER = "folio-__assignor-__leader"
TOPICS = {  # name: (partitions, configs)
    "transactions": (3, {"cleanup.policy": "delete", "retention.ms": "-1"}),
    CHANGELOG: (2, {"cleanup.policy": "compact"}),
    LEADER: (1, {}),
    "dead_letters": (2, {}),  # stays empty
}


async def create_topics(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        response = await admin.create_topics(
            [NewTopic(name, partitions, 1, topic_configs=configs) for name, (partitions, configs) in TOPICS.items()]
        )
        assert all(error_code == 0 for _, error_code, *_ in response.topic_errors), response
    finally:
        await admin.close()


async def produce_batches(bootstrap: str, batches: list[tuple[str, int, list[tuple]]]) -> None:
    """Each (topic, partition, records) is one record batch, so one produce request.

    A record is (key, value, timestamp, headers); the last batch of several
    partitions holds more than one record, where tansu's ListOffsets is wrong.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, max_batch_size=1 << 20)
    try:
        await producer.start()
        for topic, partition, records in batches:
            batch = producer.create_batch()
            for key, value, timestamp, headers in records:
                assert batch.append(key=key, value=value, timestamp=timestamp, headers=headers) is not None
            batch.close()
            await (await producer.send_batch(batch, topic, partition=partition))
    finally:
        await producer.stop()


async def commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        await consumer.start()
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


def all_partitions() -> list[TopicPartition]:
    return [TopicPartition(name, p) for name, (partitions, _) in TOPICS.items() for p in range(partitions)]


async def contents(bootstrap: str) -> dict[TopicPartition, list[tuple]]:
    """Every partition's records as (offset, key, value, timestamp, headers), read to the true end."""
    partitions = all_partitions()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
    try:
        await consumer.start()
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records = await read_to_end(consumer, partitions)
    finally:
        await consumer.stop()
    by_partition: dict[TopicPartition, list[tuple]] = {tp: [] for tp in partitions}
    for r in records:
        by_partition[TopicPartition(r.topic, r.partition)].append(
            (r.offset, r.key, r.value, r.timestamp, tuple(r.headers))
        )
    return by_partition


async def topic_layout(bootstrap: str) -> dict[str, tuple[int, dict[str, str]]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        names = sorted(await admin.list_topics())
        partitions = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(names)}
        configs = {}
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        for response in await admin.describe_configs(resources):
            for _error, _message, _type, name, entries, *_ in response.resources:
                configs[name] = {entry[0]: entry[1] for entry in entries}
    finally:
        await admin.close()
    return {name: (partitions[name], configs[name]) for name in names}


async def committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        offsets = await admin.list_consumer_group_offsets(group, partitions=all_partitions())
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


_NUMBERED = object()


def record(n: int, *, value: bytes | None | object = _NUMBERED, headers: list | None = None) -> tuple:
    """(key, value, timestamp, headers): five keys in turn, a JSON value numbered n unless given."""
    if value is _NUMBERED:
        value = b'{"n": %d}' % n
    return (b"key-%d" % (n % 5), value, 1_700_000_000_000 + n, headers or [])


@pytest.fixture
async def source(start_broker) -> str:
    """A broker with varied contents: multi-record batches, a tombstone, headers, and a group's offsets."""
    bootstrap = start_broker()
    await create_topics(bootstrap)
    await produce_batches(bootstrap, [
        ("transactions", 0, [record(n) for n in range(5)]),
        ("transactions", 0, [record(5)]),
        ("transactions", 0, [record(n) for n in range(6, 9)]),  # last batch: 3 records
        ("transactions", 1, [record(9, headers=[("trace", b"abc"), ("empty", None), ("blank", b"")])]),
        ("transactions", 2, [record(n) for n in range(10, 30)]),
        (CHANGELOG, 0, [record(30), record(31, value=None), record(32, value=b"")]),  # tombstone, empty value
        (CHANGELOG, 1, [(None, b"no key", 1_700_000_000_100, [])]),
        (LEADER, 0, [record(40), record(41)]),
    ])
    await commit(bootstrap, GROUP, {
        TopicPartition("transactions", 0): 9,
        TopicPartition("transactions", 2): 7,
        TopicPartition(CHANGELOG, 0): 3,
        TopicPartition("dead_letters", 1): 0,
    })
    return bootstrap


async def test_a_restored_broker_holds_every_record_at_its_original_offset(source, start_broker, tmp_path):
    saved = await save_snapshot(source, tmp_path / "snapshot", [GROUP])
    target = start_broker()

    restored = await restore_snapshot(target, tmp_path / "snapshot")

    original = await contents(source)
    assert await contents(target) == original
    assert [offset for offset, *_ in original[TopicPartition("transactions", 0)]] == list(range(9))
    assert [value for _, _, value, *_ in original[TopicPartition(CHANGELOG, 0)]] == [b'{"n": 30}', None, b""]
    assert original[TopicPartition("transactions", 1)][0][4] == (("trace", b"abc"), ("empty", None), ("blank", b""))
    assert (saved.topics, saved.partitions, saved.records, saved.groups) == (4, 8, 36, 1)
    assert (restored.topics, restored.records, restored.groups, restored.bytes) == (4, 36, 1, saved.bytes)


async def test_a_restored_broker_has_the_same_topics_configs_and_committed_group_offsets(
    source, start_broker, tmp_path
):
    await save_snapshot(source, tmp_path / "snapshot", [GROUP])
    target = start_broker()

    await restore_snapshot(target, tmp_path / "snapshot")

    assert await topic_layout(target) == await topic_layout(source)
    assert (await topic_layout(target))[CHANGELOG] == (2, {"cleanup.policy": "compact"})
    assert await committed(target, GROUP) == await committed(source, GROUP) == {
        TopicPartition("transactions", 0): 9,
        TopicPartition("transactions", 2): 7,
        TopicPartition(CHANGELOG, 0): 3,
        TopicPartition("dead_letters", 1): 0,
    }


async def test_new_records_on_a_restored_broker_continue_from_the_original_log_end(source, start_broker, tmp_path):
    await save_snapshot(source, tmp_path / "snapshot", [GROUP])
    target = start_broker()
    await restore_snapshot(target, tmp_path / "snapshot")

    producer = AIOKafkaProducer(bootstrap_servers=target, enable_idempotence=False)
    try:
        await producer.start()
        landed = await producer.send_and_wait("transactions", b"next", partition=0)
    finally:
        await producer.stop()

    assert landed.offset == 9


async def test_save_without_a_group_list_saves_every_group_the_broker_knows(source, start_broker, tmp_path):
    await commit(source, "folio-sink", {TopicPartition(CHANGELOG, 1): 1})

    info = await save_snapshot(source, tmp_path / "snapshot")
    target = start_broker()
    await restore_snapshot(target, tmp_path / "snapshot")

    assert info.groups == 2
    assert await committed(target, "folio-sink") == {TopicPartition(CHANGELOG, 1): 1}


async def test_a_second_save_replaces_the_first_snapshot_and_leaves_no_temporary_files(
    source, start_broker, tmp_path
):
    directory = tmp_path / "snapshot"
    first = await save_snapshot(source, directory, [GROUP])
    await produce_batches(source, [("dead_letters", 0, [record(50), record(51)])])

    second = await save_snapshot(source, directory, [GROUP])
    target = start_broker()
    await restore_snapshot(target, directory)

    assert (first.records, second.records) == (36, 38)
    assert read_snapshot_info(directory) == dataclasses.replace(second, seconds=0.0)
    assert [offset for offset, *_ in (await contents(target))[TopicPartition("dead_letters", 0)]] == [0, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snapshot"]


async def test_a_save_that_fails_midway_leaves_the_previous_snapshot_intact(
    source, tmp_path, monkeypatch
):
    directory = tmp_path / "snapshot"
    await save_snapshot(source, directory, [GROUP])
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    await produce_batches(source, [("dead_letters", 0, [record(50)])])

    async def crash(*args, **kwargs):
        raise RuntimeError("crash after the records were written")

    monkeypatch.setattr(snapshot, "_committed_offsets", crash)
    with pytest.raises(RuntimeError, match="crash after"):
        await save_snapshot(source, directory, [GROUP])

    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snapshot"]


async def test_a_snapshot_set_aside_by_a_save_interrupted_between_its_renames_is_still_restored(
    source, start_broker, tmp_path
):
    directory = tmp_path / "snapshot"
    saved = await save_snapshot(source, directory, [GROUP])
    directory.rename(tmp_path / ".snapshot.old")  # the old one moved aside, the new one not yet in place
    target = start_broker()

    restored = await restore_snapshot(target, directory)

    assert restored.records == saved.records
    assert await contents(target) == await contents(source)


async def test_restore_without_a_snapshot_returns_none_and_never_contacts_the_broker(tmp_path):
    assert await restore_snapshot("127.0.0.1:1", tmp_path / "missing") is None
    assert read_snapshot_info(tmp_path / "missing") is None


async def test_restore_refuses_a_broker_that_already_has_the_topics(source, tmp_path):
    await save_snapshot(source, tmp_path / "snapshot", [GROUP])

    with pytest.raises(SnapshotError, match="not empty"):
        await restore_snapshot(source, tmp_path / "snapshot")


async def test_restore_refuses_a_partition_whose_offsets_a_fresh_broker_cannot_reproduce(
    source, start_broker, tmp_path
):
    directory = tmp_path / "snapshot"
    await save_snapshot(source, directory, [GROUP])
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["topics"][0]["partition_data"][0]["start_offset"] = 4  # as if the log had been truncated
    manifest_path.write_text(json.dumps(manifest))
    target = start_broker()

    with pytest.raises(SnapshotMismatch, match="cannot get their offsets back"):
        await restore_snapshot(target, directory)

    assert await topic_layout(target) == {}  # refused before creating anything


async def test_restore_detects_a_damaged_records_file(source, start_broker, tmp_path):
    directory = tmp_path / "snapshot"
    await save_snapshot(source, directory, [GROUP])
    damaged: Path = next(directory.glob("*.records"))
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))

    with pytest.raises(SnapshotError, match="damaged"):
        await restore_snapshot(start_broker(), directory)


async def test_a_hundred_thousand_records_save_and_restore_in_seconds(start_broker, tmp_path):
    source, target = start_broker(), start_broker()
    await create_topics(source)
    await produce_batches(source, [
        ("transactions", n % 3, [record(i) for i in range(n * 1000, (n + 1) * 1000)]) for n in range(100)
    ])

    started = time.monotonic()
    saved = await save_snapshot(source, tmp_path / "snapshot", [GROUP])
    restored = await restore_snapshot(target, tmp_path / "snapshot")
    elapsed = time.monotonic() - started

    assert saved.records == restored.records == 100_000
    assert await contents(target) == await contents(source)
    assert elapsed < 15  # about 0.6 s on a 2-core machine; generous for loaded CI


async def test_a_save_reads_each_partition_to_its_true_end_over_many_fetches(
    source, start_broker, tmp_path, monkeypatch
):
    await produce_batches(source, [
        ("transactions", 0, [record(i) for i in range(n, n + 10)]) for n in range(100, 2100, 10)
    ])
    monkeypatch.setattr(snapshot, "_PARTITION_FETCH_BYTES", 1024)  # a few batches per fetch

    saved = await save_snapshot(source, tmp_path / "snapshot", [GROUP])
    target = start_broker()
    await restore_snapshot(target, tmp_path / "snapshot")

    assert saved.records == 36 + 2000
    assert await contents(target) == await contents(source)


async def test_a_faust_worker_resumes_on_a_restored_broker_with_its_rocksdb_state_and_group_offsets(
    start_broker, faust_counter, tmp_path
):
    first_broker = start_broker()
    await create_counter_topic(first_broker)
    log = faust_counter(first_broker, tmp_path / "data", "before.log")
    wait_for_line(log, "Worker ready")
    await publish(first_broker, "counter-events", [(f"k{i % 300}", b'"x"') for i in range(3000)])
    wait_for_line(log, "table holds 3000 counts over 300 keys")
    faust_counter.stop()
    await save_snapshot(first_broker, tmp_path / "snapshot")  # every group, Faust's included

    second_broker = start_broker()
    await restore_snapshot(second_broker, tmp_path / "snapshot")
    # Same data dir: RocksDB's persisted changelog offsets must match the restored changelog.
    log = faust_counter(second_broker, tmp_path / "data", "after.log")
    wait_for_line(log, "table holds 3000 counts over 300 keys")
    await publish(second_broker, "counter-events", [(f"k{i % 400}", b'"x"') for i in range(400)])

    # The restored group offsets: only the new events are counted, none twice.
    wait_for_line(log, "table holds 3400 counts over 400 keys")
    time.sleep(3)  # a few more reports: the count must stay there
    faust_counter.stop()
    reports = [line for line in log.read_text(errors="replace").splitlines() if "table holds" in line]
    assert reports[-1].rstrip().endswith("table holds 3400 counts over 400 keys")
