"""Dev harness only: save the development broker's topics to disk and put them back.

tansu, the development broker, keeps topics in memory, so stopping it loses
everything. To let a second `folio up` resume where the first stopped, the
harness saves every topic and the consumer groups' committed offsets when the
stack stops, and restores them into the next, empty broker before anything
else connects.

Offsets must come back exactly: the Faust workers' RocksDB stores remember
changelog offsets, and committed group offsets point into the topics. So a
restore recreates each topic with its partition count and configs, produces
each partition's records in order into that partition (a record lands at the
offset it had, since a fresh partition starts at 0), checks every offset the
broker assigned, and then commits each group's offsets again.

A snapshot is a directory:

    manifest.json     topics (partitions, replication, configs), per-partition
                      offsets/record counts/files/CRCs, group offsets
    NNNNN.records     one file per non-empty partition (format below)

`save_snapshot` writes a new snapshot beside the old one and swaps it in by
renames, so a crash mid-save leaves the previous snapshot usable (a crash
between the two renames leaves it as `.<name>.old`, which is picked up too).

Record file: the magic line `FOLIO-SNAPSHOT-RECORDS 1\\n`, then per record the
little-endian header `offset:i64 timestamp:i64 key_len:i32 value_len:i32
header_count:i32` (length -1 = null), the key, the value, and per header
`name_len:i32 value_len:i32` then name (UTF-8) and value.

Product code must never import this module; production runs real Kafka.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import struct
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from folio.log_end import StalledRead, fetch_until_end

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_MAGIC = b"FOLIO-SNAPSHOT-RECORDS 1\n"
_RECORD = struct.Struct("<qqiii")  # offset, timestamp, key length, value length, header count
_HEADER = struct.Struct("<ii")  # name length, value length
_FLUSH_BYTES = 4 * 1024 * 1024  # per-partition write buffer during a save
_BATCH_BYTES = 512 * 1024  # produce batch size during a restore
_PARTITION_FETCH_BYTES = 8 * 1024 * 1024  # per partition and fetch during a save
_STALL_TIMEOUT_S = 30.0
_TOPIC_ALREADY_EXISTS = 36


class SnapshotError(RuntimeError):
    """A snapshot cannot be written, read, or restored."""


class SnapshotMismatch(SnapshotError):
    """The restored broker does not hold what the snapshot recorded (offsets, ends, group offsets)."""


@dataclass(frozen=True)
class SnapshotInfo:
    """What a snapshot holds (or what was just saved or restored)."""

    topics: int
    records: int
    groups: int
    bytes: int
    partitions: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        text = (
            f"{self.topics} topics ({self.partitions} partitions), {self.records} records, "
            f"{self.groups} consumer groups, {_human_bytes(self.bytes)}"
        )
        return f"{text} in {self.seconds:.1f}s" if self.seconds else text


# --------------------------------------------------------------------------- save


async def save_snapshot(
    bootstrap: str, directory: Path | str, groups: Iterable[str] | None = None
) -> SnapshotInfo:
    """Save every topic on the broker, and the committed offsets of `groups`, into `directory`.

    Call it only once every producer and consumer of the broker has stopped:
    each partition is read from its beginning up to the high watermark of the
    fetch responses (ListOffsets(latest) is wrong on tansu). `groups=None`
    saves every group the broker lists. Replaces an existing snapshot in
    `directory` only once the new one is complete.
    """
    started = time.monotonic()
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    _recover_interrupted_swap(directory)
    for stale in directory.parent.glob(f".{directory.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = directory.with_name(f".{directory.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    staging.mkdir()
    try:
        manifest = await _save_into(bootstrap, staging, groups)
        manifest["created_at"] = time.time()
        _write_durably(staging / MANIFEST, json.dumps(manifest, indent=1).encode())
        _fsync_dir(staging)
        _swap_in(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    info = _info(manifest, seconds=time.monotonic() - started)
    log.info("broker snapshot saved to %s: %s", directory, info)
    return info


async def _save_into(bootstrap: str, staging: Path, groups: Iterable[str] | None) -> dict[str, Any]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="folio-snapshot")
    try:
        await admin.start()
        topics = await _describe_topics(admin)
        all_partitions = [TopicPartition(t["name"], p) for t in topics for p in range(t["partitions"])]
        partitions = await _read_partitions(bootstrap, all_partitions, staging)
        if groups is None:
            groups = sorted({group for group, *_ in await admin.list_consumer_groups()})
        group_offsets = {
            group: await _committed_offsets(admin, group, all_partitions) for group in groups
        }
    finally:
        await admin.close()
    for topic in topics:
        topic["partition_data"] = [partitions[TopicPartition(topic["name"], p)] for p in range(topic["partitions"])]
    return {"format": FORMAT_VERSION, "topics": topics, "groups": group_offsets}


async def _describe_topics(admin: AIOKafkaAdminClient) -> list[dict[str, Any]]:
    names = sorted(await admin.list_topics())
    if not names:
        return []
    described = {t["topic"]: t for t in await admin.describe_topics(names)}
    configs = await _read_configs(admin, names)
    topics = []
    for name in names:
        topic = described[name]
        if topic["error_code"] != 0:
            raise SnapshotError(f"cannot describe topic {name}: error {topic['error_code']}")
        numbers = sorted(p["partition"] for p in topic["partitions"])
        if numbers != list(range(len(numbers))):
            raise SnapshotError(f"topic {name} has partitions {numbers}, expected 0..n-1")
        replication = len(topic["partitions"][0]["replicas"]) if topic["partitions"] else 1
        topics.append({
            "name": name,
            "partitions": len(numbers),
            "replication": max(replication, 1),
            "configs": configs.get(name, {}),
        })
    return topics


async def _read_configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """Each topic's settable configs.

    tansu answers only the configs set explicitly at creation (reporting them
    as DEFAULT_CONFIG), so nothing is filtered by source; read-only and
    sensitive entries are left out.
    """
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    configs: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for error_code, message, _type, name, entries, *_ in response.resources:
            if error_code != 0:
                raise SnapshotError(f"cannot read configs of topic {name}: error {error_code} {message or ''}")
            configs[name] = {
                entry[0]: entry[1]
                for entry in entries
                if entry[1] is not None and not entry[2] and not entry[4]  # value, read_only, is_sensitive
            }
    return configs


async def _committed_offsets(
    admin: AIOKafkaAdminClient, group: str, partitions: list[TopicPartition]
) -> list[list[Any]]:
    if not partitions:
        return []
    # tansu needs the partitions named: its answer to a whole-group OffsetFetch cannot be decoded.
    committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
    return [
        [tp.topic, tp.partition, meta.offset, meta.metadata or ""]
        for tp, meta in sorted(committed.items())
        if meta is not None and meta.offset >= 0
    ]


class _PartitionWriter:
    """Encodes one partition's records into its file, buffered; tracks offsets and CRC."""

    def __init__(self, path: Path, start_offset: int) -> None:
        self.path = path
        self.start_offset = start_offset
        self.next_offset = start_offset
        self.first_offset: int | None = None
        self.records = 0
        self.gaps = 0
        self.size = 0
        self.crc = 0
        self._chunks: list[bytes] = [_MAGIC]
        self._buffered = len(_MAGIC)
        self._file = None

    def add(self, records: Sequence[ConsumerRecord]) -> None:
        chunks = self._chunks
        pack_record, pack_header = _RECORD.pack, _HEADER.pack
        buffered = 0
        for record in records:
            if record.offset != self.next_offset:
                self.gaps += 1
            if self.first_offset is None:
                self.first_offset = record.offset
            self.next_offset = record.offset + 1
            key, value, headers = record.key, record.value, record.headers
            chunks.append(pack_record(
                record.offset, record.timestamp,
                -1 if key is None else len(key), -1 if value is None else len(value), len(headers),
            ))
            if key:
                chunks.append(key)
            if value:
                chunks.append(value)
            for name, header_value in headers:
                encoded = name.encode("utf-8")
                chunks.append(pack_header(len(encoded), -1 if header_value is None else len(header_value)))
                chunks.append(encoded)
                if header_value:
                    chunks.append(header_value)
            buffered += 28 + (len(key) if key else 0) + (len(value) if value else 0)
        self.records += len(records)
        self._buffered += buffered
        if self._buffered >= _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._chunks:
            return
        data = b"".join(self._chunks)
        self._chunks, self._buffered = [], 0
        if self._file is None:
            self._file = open(self.path, "wb")
        self._file.write(data)
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)

    def abandon(self) -> None:
        if self._file is not None:
            self._file.close()

    def close(self) -> dict[str, Any]:
        """Finish the file (none for an empty partition); the partition's manifest entry."""
        entry: dict[str, Any] = {
            "start_offset": self.start_offset,
            "end_offset": self.next_offset,
            "records": self.records,
        }
        if self.first_offset is not None and self.first_offset != 0:
            entry["first_offset"] = self.first_offset
        if self.gaps:
            entry["gaps"] = self.gaps
        if self.records:
            self.flush()
            assert self._file is not None
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            entry.update(file=self.path.name, bytes=self.size, crc32=self.crc)
        return entry


async def _read_partitions(
    bootstrap: str, partitions: list[TopicPartition], staging: Path
) -> dict[TopicPartition, dict[str, Any]]:
    """Read every partition from its log start to its true end, writing each to its own file."""
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        client_id="folio-snapshot",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # An empty partition's end is known only once a fetch is answered,
        # which the broker holds back up to fetch_max_wait_ms.
        fetch_max_wait_ms=20,
        max_partition_fetch_bytes=_PARTITION_FETCH_BYTES,
        fetch_max_bytes=max(64 * 1024 * 1024, _PARTITION_FETCH_BYTES),
    )
    writers: dict[TopicPartition, _PartitionWriter] = {}
    try:
        await consumer.start()
        consumer.assign(partitions)
        starts = await consumer.beginning_offsets(partitions)
        for number, tp in enumerate(partitions):
            writers[tp] = _PartitionWriter(staging / f"{number:05d}.records", starts[tp])
            consumer.seek(tp, starts[tp])
        try:
            async for batches in fetch_until_end(consumer, partitions, poll_ms=100, stall_timeout=_STALL_TIMEOUT_S):
                for tp, records in batches.items():
                    writers[tp].add(records)
        except StalledRead as exc:
            raise SnapshotError(str(exc)) from exc
        for tp in partitions:
            # Nothing read yet means the end is the log start (or an unreported empty tail).
            writer = writers[tp]
            writer.next_offset = max(writer.next_offset, await consumer.position(tp))
    except BaseException:
        for writer in writers.values():
            writer.abandon()
        raise
    finally:
        await consumer.stop()
    entries = {}
    for tp, writer in writers.items():
        entries[tp] = writer.close()
        if entries[tp]["start_offset"] != 0 or entries[tp].get("gaps"):
            log.warning("%s does not start at offset 0 or has gaps: %s (cannot be restored exactly)", tp, entries[tp])
    return entries


# ------------------------------------------------------------------------ restore


async def restore_snapshot(bootstrap: str, directory: Path | str) -> SnapshotInfo | None:
    """Recreate the snapshot's topics, records (at their offsets) and group offsets on an empty broker.

    Returns None when `directory` holds no snapshot. Raises SnapshotError if
    the broker already has one of the snapshot's topics or the snapshot is
    damaged, and SnapshotMismatch if a partition cannot be reproduced or the
    broker put a record anywhere but at its recorded offset.
    """
    started = time.monotonic()
    found = _find_snapshot(Path(directory))
    if found is None:
        return None
    manifest = _read_manifest(found)
    _check_reproducible(manifest)
    topics = manifest["topics"]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="folio-snapshot")
    try:
        await admin.start()
        await _create_topics(admin, topics)
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="folio-snapshot",
            acks="all",
            enable_idempotence=False,  # tansu does not support it
            linger_ms=0,
            max_batch_size=_BATCH_BYTES,
            request_timeout_ms=60_000,
        )
        try:
            await producer.start()
            await asyncio.gather(*(
                _produce_partition(producer, found, topic["name"], number, entry)
                for topic in topics
                for number, entry in enumerate(topic["partition_data"])
                if entry["records"]
            ))
            await producer.flush()
        finally:
            await producer.stop()
        ends = {
            TopicPartition(topic["name"], number): entry["end_offset"]
            for topic in topics
            for number, entry in enumerate(topic["partition_data"])
        }
        await _verify_ends(bootstrap, ends)
        for group, offsets in manifest["groups"].items():
            await _restore_group(bootstrap, admin, group, offsets)
    finally:
        await admin.close()
    info = _info(manifest, seconds=time.monotonic() - started)
    log.info("broker snapshot restored from %s: %s", found, info)
    return info


def read_snapshot_info(directory: Path | str) -> SnapshotInfo | None:
    """What the snapshot in `directory` holds, without a broker; None if there is none."""
    found = _find_snapshot(Path(directory))
    return None if found is None else _info(_read_manifest(found))


def _check_reproducible(manifest: dict[str, Any]) -> None:
    problems = []
    for topic in manifest["topics"]:
        for number, entry in enumerate(topic["partition_data"]):
            if entry["start_offset"] != 0 or entry.get("gaps") or entry["end_offset"] != entry["records"]:
                problems.append(
                    f"{topic['name']}[{number}] (log start {entry['start_offset']}, "
                    f"{entry['records']} records up to offset {entry['end_offset']})"
                )
    if problems:
        raise SnapshotMismatch(
            "a fresh partition fills from offset 0 without gaps, so these cannot get their offsets back: "
            + ", ".join(problems)
        )


async def _create_topics(admin: AIOKafkaAdminClient, topics: list[dict[str, Any]]) -> None:
    if not topics:
        return
    existing = set(await admin.list_topics()) & {t["name"] for t in topics}
    if existing:
        raise SnapshotError(f"the broker is not empty: it already has topics {sorted(existing)}")
    response = await admin.create_topics([
        NewTopic(t["name"], t["partitions"], t["replication"], topic_configs=t["configs"]) for t in topics
    ])
    failures = [
        f"{name}: error {error_code} {rest[0] if rest and rest[0] else ''}".strip()
        for name, error_code, *rest in response.topic_errors
        if error_code != 0
    ]
    if failures:
        raise SnapshotError("could not recreate topics: " + "; ".join(failures))


async def _produce_partition(
    producer: AIOKafkaProducer, snapshot: Path, topic: str, partition: int, entry: dict[str, Any]
) -> None:
    """Produce one partition's records in order; check each batch's base offset."""
    data = (snapshot / entry["file"]).read_bytes()
    if len(data) != entry["bytes"] or zlib.crc32(data) != entry["crc32"]:
        raise SnapshotError(f"{snapshot / entry['file']} ({topic}[{partition}]) is damaged")
    sent: list[tuple[int, int, asyncio.Future]] = []  # (expected base offset, record count, delivery)
    batch, base, count = producer.create_batch(), None, 0
    for offset, timestamp, key, value, headers in _decode(data):
        if batch.append(key=key, value=value, timestamp=timestamp, headers=headers) is None:
            sent.append((base, count, await producer.send_batch(batch, topic, partition=partition)))
            batch, base, count = producer.create_batch(), None, 0
            # A batch always takes its first record, however large.
            batch.append(key=key, value=value, timestamp=timestamp, headers=headers)
        if base is None:
            base = offset
        count += 1
    if count:
        sent.append((base, count, await producer.send_batch(batch, topic, partition=partition)))
    produced = 0
    for expected, count, delivery in sent:
        metadata = await delivery
        if metadata.offset != expected:
            raise SnapshotMismatch(
                f"{topic}[{partition}]: a batch of {count} records meant for offset {expected} "
                f"landed at {metadata.offset}"
            )
        produced += count
    if produced != entry["records"]:
        raise SnapshotError(f"{topic}[{partition}]: the file holds {produced} records, the manifest {entry['records']}")


async def _verify_ends(bootstrap: str, ends: dict[TopicPartition, int]) -> None:
    """Each partition's high watermark (from a fetch; ListOffsets is wrong on tansu) equals its recorded end."""
    if not ends:
        return
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, client_id="folio-snapshot",
        enable_auto_commit=False, fetch_max_wait_ms=20, max_partition_fetch_bytes=1024,
    )
    try:
        await consumer.start()
        consumer.assign(list(ends))
        for tp, end in ends.items():
            consumer.seek(tp, max(end - 1, 0))
        deadline = time.monotonic() + _STALL_TIMEOUT_S
        while (missing := [tp for tp in ends if consumer.highwater(tp) is None]):
            if time.monotonic() > deadline:
                raise SnapshotMismatch(f"no fetch response for {sorted(missing)} within {_STALL_TIMEOUT_S:.0f}s")
            await consumer.getmany(*missing, timeout_ms=50)
        wrong = {f"{tp.topic}[{tp.partition}]": (end, consumer.highwater(tp))
                 for tp, end in ends.items() if consumer.highwater(tp) != end}
    finally:
        await consumer.stop()
    if wrong:
        raise SnapshotMismatch(f"partition ends differ from the snapshot (expected, found): {wrong}")


async def _restore_group(
    bootstrap: str, admin: AIOKafkaAdminClient, group: str, offsets: list[list[Any]]
) -> None:
    if not offsets:
        return
    wanted = {TopicPartition(topic, partition): OffsetAndMetadata(offset, metadata)
              for topic, partition, offset, metadata in offsets}
    # Manual assignment and an explicit commit: no group join (which tansu delays).
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        await consumer.start()
        consumer.assign(list(wanted))
        await consumer.commit(wanted)
    finally:
        await consumer.stop()
    committed = await admin.list_consumer_group_offsets(group, partitions=list(wanted))
    wrong = {f"{tp.topic}[{tp.partition}]": (meta.offset, committed[tp].offset if committed.get(tp) else None)
             for tp, meta in wanted.items()
             if committed.get(tp) is None or committed[tp].offset != meta.offset}
    if wrong:
        raise SnapshotMismatch(f"group {group}: committed offsets differ (expected, found): {wrong}")


def _decode(data: bytes) -> Iterator[tuple[int, int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]]:
    if not data.startswith(_MAGIC):
        raise SnapshotError("not a Folio snapshot records file")
    view = memoryview(data)
    unpack_record, unpack_header = _RECORD.unpack_from, _HEADER.unpack_from
    position, end = len(_MAGIC), len(data)
    while position < end:
        offset, timestamp, key_len, value_len, header_count = unpack_record(data, position)
        position += 28
        key = None
        if key_len >= 0:
            key = data[position:position + key_len]
            position += key_len
        value = None
        if value_len >= 0:
            value = data[position:position + value_len]
            position += value_len
        headers = []
        for _ in range(header_count):
            name_len, header_len = unpack_header(data, position)
            position += 8
            name = str(view[position:position + name_len], "utf-8")
            position += name_len
            header_value = None
            if header_len >= 0:
                header_value = data[position:position + header_len]
                position += header_len
            headers.append((name, header_value))
        yield offset, timestamp, key, value, headers
    if position != end:
        raise SnapshotError("truncated snapshot records file")


# ---------------------------------------------------------------------- on disk


def _aside(directory: Path) -> Path:
    return directory.with_name(f".{directory.name}.old")


def _find_snapshot(directory: Path) -> Path | None:
    """The complete snapshot: `directory`, or the previous one set aside by an interrupted swap."""
    for candidate in (directory, _aside(directory)):
        if (candidate / MANIFEST).is_file():
            return candidate
    return None


def _recover_interrupted_swap(directory: Path) -> None:
    aside = _aside(directory)
    if not aside.exists():
        return
    if (directory / MANIFEST).is_file():
        shutil.rmtree(aside)  # the swap finished; only the clean-up was interrupted
    else:
        if directory.exists():
            shutil.rmtree(directory)
        os.rename(aside, directory)


def _swap_in(staging: Path, directory: Path) -> None:
    """Replace `directory` by `staging`: at every instant one complete snapshot is findable."""
    aside = _aside(directory)
    if directory.exists():
        os.rename(directory, aside)
    os.rename(staging, directory)
    _fsync_dir(directory.parent)
    if aside.exists():
        shutil.rmtree(aside)


def _read_manifest(snapshot: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((snapshot / MANIFEST).read_bytes())
    except (OSError, ValueError) as error:
        raise SnapshotError(f"cannot read {snapshot / MANIFEST}: {error}") from error
    if manifest.get("format") != FORMAT_VERSION:
        raise SnapshotError(f"{snapshot}: unknown snapshot format {manifest.get('format')!r}")
    return manifest


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some filesystems refuse fsync on directories
    finally:
        os.close(descriptor)


def _info(manifest: dict[str, Any], seconds: float = 0.0) -> SnapshotInfo:
    entries = [entry for topic in manifest["topics"] for entry in topic["partition_data"]]
    return SnapshotInfo(
        topics=len(manifest["topics"]),
        records=sum(entry["records"] for entry in entries),
        groups=len(manifest["groups"]),
        bytes=sum(entry.get("bytes", 0) for entry in entries),
        partitions=len(entries),
        seconds=seconds,
    )


def _human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


__all__ = [
    "SnapshotError",
    "SnapshotInfo",
    "SnapshotMismatch",
    "read_snapshot_info",
    "restore_snapshot",
    "save_snapshot",
]
