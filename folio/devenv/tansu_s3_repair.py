"""Dev harness only: mend the durable broker's store after tansu was killed mid-write.

tansu's s3 engine appends to a partition in steps: it advances the
partition's `watermark.json` (a conditional write) to reserve offsets, writes
the batch object named by its base offset, then acknowledges. A kill between
the first two leaves offsets reserved but never written. Nobody was
acknowledged for them, yet tansu serves nothing from the first missing offset
on, so a consumer that reaches it (Faust's table recovery, waiting for the
high watermark) waits for ever. Seen here after a kill -9 of `folio up`: a
changelog partition with high watermark 4230 and records only up to 3758.

`mend_store` runs while tansu is stopped. Only a partition's newest batches
can be affected (reservations in flight at the kill are the newest), so it
reads the headers of the last `_TAIL` batch objects of each partition:
- a missing tail lowers the watermark to the end of the last written batch
  (the next produce reuses those offsets, as Kafka would after an unacked
  write);
- a missing stretch between written batches (two writers in flight, the
  later one acknowledged) gets an empty batch object covering it, which
  Kafka clients step over like a batch emptied by compaction.

It talks to SeaweedFS's filer HTTP API, where the bucket is `/buckets/<bucket>`.
"""
from __future__ import annotations

import json
import logging
import struct
import time
from dataclasses import dataclass

import httpx
from aiokafka.record.util import calc_crc32c

from folio.devenv.seaweed import filer_listing

log = logging.getLogger(__name__)

_TAIL = 64  # batch objects checked per partition
_HEADER_BYTES = 61  # a v2 RecordBatch header, up to and including the record count
_LAST_OFFSET_DELTA = slice(23, 27)
_BATCH_SUFFIX = ".batch"


@dataclass(frozen=True)
class Repair:
    partition_path: str
    first: int
    last: int
    how: str  # "watermark lowered" or "filled with an empty batch"

    def __str__(self) -> str:
        topic, partition = self.partition_path.rstrip("/").split("/")[-3], self.partition_path.rstrip("/").split("/")[-1]
        return f"{topic}[{int(partition)}] offsets {self.first}..{self.last} ({self.how})"


def mend_store(filer_url: str, bucket: str, timeout: float = 30.0) -> list[Repair]:
    """Repair every partition of every cluster in `bucket`; what was repaired."""
    repairs: list[Repair] = []
    # Just after a start the filer answers 500 until its volume server has registered: retried.
    transport = _RetryingTransport(deadline=time.monotonic() + 120.0)
    with httpx.Client(base_url=filer_url, timeout=timeout, transport=transport) as filer:
        for cluster in filer_listing(filer, f"/buckets/{bucket}/clusters/"):
            for topic in filer_listing(filer, f"{cluster}/topics/"):
                for partition in filer_listing(filer, f"{topic}/partitions/"):
                    repairs += _mend_partition(filer, partition)
    return repairs


def _mend_partition(filer: httpx.Client, partition: str) -> list[Repair]:
    answer = filer.get(f"{partition}/watermark.json")
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    watermark = answer.json()
    high = watermark.get("high")
    if high is None or high <= (watermark.get("low") or 0):
        return []
    bases = _batch_bases(filer, partition)
    if not bases:
        # Seen just after a start: the filer listed nothing under a partition full of
        # batches. Reading that as "nothing was written" would drop the partition.
        log.warning("%s lists no batch objects below high watermark %s: left as it is", partition, high)
        return []
    batches = [(base, base + _last_offset_delta(filer, f"{partition}/records/{_object_name(base)}") + 1)
               for base in bases[-_TAIL:]]
    repairs = []
    for (_, end), (next_base, _) in zip(batches, batches[1:]):
        if next_base > end and not _exists(filer, f"{partition}/records/{_object_name(end)}"):
            _put(filer, f"{partition}/records/{_object_name(end)}", empty_batch(next_base - end))
            repairs.append(Repair(partition, end, next_base - 1, "filled with an empty batch"))
    written_end = batches[-1][1]
    # Lowered only when the listing is confirmed: no object where the next batch would be,
    # and a second listing ends at the same batch (a partial listing would end earlier).
    if (high > written_end and not _exists(filer, f"{partition}/records/{_object_name(written_end)}")
            and _batch_bases(filer, partition)[-1:] == bases[-1:]):
        _put(filer, f"{partition}/watermark.json", json.dumps({**watermark, "high": written_end}).encode())
        repairs.append(Repair(partition, written_end, high - 1, "watermark lowered"))
    return repairs


def _batch_bases(filer: httpx.Client, partition: str) -> list[int]:
    return sorted(int(name.rsplit("/", 1)[-1][: -len(_BATCH_SUFFIX)])
                  for name in filer_listing(filer, f"{partition}/records/") if name.endswith(_BATCH_SUFFIX))


def _exists(filer: httpx.Client, path: str) -> bool:
    """True unless the filer says 404 for `path` (any other answer counts as existing: leave it alone)."""
    answer = filer.head(path)
    return answer.status_code != 404


def empty_batch(offsets: int) -> bytes:
    """A v2 RecordBatch without records spanning `offsets` offsets (base offset 0, as tansu stores them)."""
    now = int(time.time() * 1000)
    # attributes, lastOffsetDelta, baseTimestamp, maxTimestamp, producerId, producerEpoch, baseSequence, records
    body = struct.pack(">hiqqqhii", 0, offsets - 1, now, now, -1, -1, -1, 0)
    crc = calc_crc32c(body)
    after_length = struct.pack(">ibI", -1, 2, crc) + body  # partitionLeaderEpoch, magic, crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


def _last_offset_delta(filer: httpx.Client, path: str) -> int:
    answer = filer.get(path, headers={"Range": f"bytes=0-{_HEADER_BYTES - 1}"})
    answer.raise_for_status()
    return struct.unpack(">i", answer.content[_LAST_OFFSET_DELTA])[0]


def _object_name(base_offset: int) -> str:
    return f"{base_offset:020d}{_BATCH_SUFFIX}"


def _put(filer: httpx.Client, path: str, content: bytes) -> None:
    filer.put(path, content=content).raise_for_status()


class _RetryingTransport(httpx.HTTPTransport):
    """Retries a request answered 5xx or not answered, with backoff, until `deadline`."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        pause = 0.05
        while True:
            try:
                response = super().handle_request(request)
                if response.status_code < 500 or time.monotonic() > self.deadline:
                    return response
                response.read()
                response.close()
            except httpx.TransportError:
                if time.monotonic() > self.deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
