"""Dev/test harness only: correct tansu's ListOffsets(latest) answer in aiokafka.

tansu (the development broker) answers ListOffsets(latest) with "base offset
of the last written batch + 1" instead of the log end whenever that batch
held more than one record. Faust's table recovery takes
`AIOKafkaConsumer.end_offsets` as each changelog's highwater
(`faust.transport.drivers.aiokafka.AIOKafkaConsumerThread._highwaters` ->
`consumer.end_offsets`, used by `Recovery._build_highwaters`), so on tansu it
stops replaying early (stale table keys) or fails its consistency check
("persisted offset > highwater"). Fetch responses do carry the true high
watermark, so `install()` replaces `end_offsets` with: ask ListOffsets as
usual, then fetch once from just before each reported offset with a
short-lived probe consumer and take the fetch's high watermark.

Real Kafka needs none of this; product code must never import this module.
`folio.devenv.worker` installs it before starting a Faust worker.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

log = logging.getLogger(__name__)

_PATCH_MARKER = "_folio_tansu_highwater"
_original_end_offsets = AIOKafkaConsumer.end_offsets


async def probe_high_watermarks(
    bootstrap_servers: str | list[str],
    reported: Mapping[TopicPartition, int],
    *,
    timeout_s: float = 10.0,
) -> dict[TopicPartition, int]:
    """The log end of each partition, from fetch responses.

    One probe consumer (no group) is assigned all partitions at once, so a
    single fetch request per broker answers for all of them. Each partition is
    fetched from `reported - 1` (0 when empty): that offset always exists when
    the partition has data, so the broker answers at once instead of waiting
    for new records. The result is never below what was reported.
    """
    if not reported:
        return {}
    probe = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    try:
        await probe.start()
        probe.assign(list(reported))
        for tp, offset in reported.items():
            probe.seek(tp, max(offset - 1, 0))
        deadline = time.monotonic() + timeout_s
        while (missing := [tp for tp in reported if probe.highwater(tp) is None]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no fetch response within {timeout_s}s for {missing}")
            # Records are discarded: only the high watermark of each response matters.
            await probe.getmany(*missing, timeout_ms=50)
        return {tp: max(offset, probe.highwater(tp)) for tp, offset in reported.items()}
    finally:
        await probe.stop()


async def _end_offsets_from_fetch(
    self: AIOKafkaConsumer, partitions: Iterable[TopicPartition]
) -> dict[TopicPartition, int]:
    reported = await _original_end_offsets(self, partitions)
    corrected = await probe_high_watermarks(self._client._bootstrap_servers, reported)
    fixed = {tp: (reported[tp], end) for tp, end in corrected.items() if end != reported[tp]}
    if fixed:
        log.debug("tansu end offsets corrected (listed -> fetched): %s", fixed)
    return corrected


setattr(_end_offsets_from_fetch, _PATCH_MARKER, True)


def install() -> None:
    """Patch `AIOKafkaConsumer.end_offsets` process-wide (idempotent)."""
    if not is_installed():
        AIOKafkaConsumer.end_offsets = _end_offsets_from_fetch


def uninstall() -> None:
    """Restore aiokafka's own `end_offsets` (tests use it to compare both)."""
    AIOKafkaConsumer.end_offsets = _original_end_offsets


def is_installed() -> bool:
    return getattr(AIOKafkaConsumer.end_offsets, _PATCH_MARKER, False)


__all__ = ["install", "uninstall", "is_installed", "probe_high_watermarks"]
