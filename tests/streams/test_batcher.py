"""The batcher never produces a batch message past the limit, and sets aside a record too large alone."""
from __future__ import annotations

from dataclasses import dataclass

from streams.batch_codec import pack
from streams.batcher import TransactionBatcher, split_by_size


@dataclass
class Record:
    offset: int
    key: bytes | None
    value: bytes | None


def records(*sizes: int) -> list[Record]:
    return [Record(i, b"P1", b"x" * size) for i, size in enumerate(sizes)]


def test_records_are_split_so_that_no_packed_batch_exceeds_the_limit_and_order_is_kept():
    # Each record packs to 16 + 2 + 400 = 418 bytes, a batch header is 7: two fit in 1000, not three.
    batches, too_large = split_by_size(records(400, 400, 400, 400, 400), limit=1000)
    assert [[r.offset for r in b] for b in batches] == [[0, 1], [2, 3], [4]]
    assert too_large == []
    assert max(len(pack((r.offset, r.key, r.value) for r in b)) for b in batches) == 843


def test_a_record_too_large_even_alone_is_set_aside_and_the_others_still_go():
    batches, too_large = split_by_size(records(10, 2000, 10), limit=1000)
    assert [[r.offset for r in b] for b in batches] == [[0, 2]]
    assert [r.offset for r in too_large] == [1]


def test_a_one_megabyte_record_is_too_large_for_the_default_limit():
    batches, too_large = split_by_size(records(1_000_000, 100))
    assert ([[r.offset for r in b] for b in batches], [r.offset for r in too_large]) == ([[1]], [0])


async def test_the_batcher_group_uses_the_session_timeout_it_is_given_not_aiokafkas_default(broker: str):
    # Regression: the batcher kept aiokafka's 10 s, so after a worker died its
    # transactions waited on the batcher's group long after the tables moved.
    batcher = TransactionBatcher(broker, "batcher-session-src", "batcher-session-dst", "batcher-session",
                                 session_timeout_ms=4_000)
    await batcher.start()
    try:
        assert batcher.consumer._session_timeout_ms == 4_000
        assert batcher.consumer._heartbeat_interval_ms == 1_333
    finally:
        await batcher.stop()
