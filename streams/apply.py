"""Applying one partition's incoming events to its tables, then writing them back once.

Framework-free apart from the table objects it is handed: the positions agent
decodes Faust events (or record batches) into `Incoming` records and calls
`apply_groups` (one `apply_group` per source partition).
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from core.fx import FxBook
from core.ledger import Duplicate, Rejected, apply_transaction, define_portfolio
from core.stored import portfolio_of_key
from core.transaction import TxFields
from folio import telemetry
from folio.logs import record_fields
from schemas.decode import Rejection, decode_event
from streams.dead_letters import dead_letter
from streams.reference_feed import ReferenceFeed
from streams.live_versions import LiveVersions
from streams.partition_transaction import Changes, PartitionTransaction, has_pending_batch
from streams.table_store import TableLedgerStore

log = logging.getLogger(__name__)

# Failures of the surroundings, not of an event: retried, never dead-lettered.
TRANSIENT = (KafkaError, OSError, asyncio.TimeoutError)
CUT_SHORT_WAIT = 2.0  # seconds a live read waits for the batch lock before answering 503 (finish_cut_short)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One source record: where it came from and its bytes, as sent."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    def dead_letter(self, reason: str, field: str | None, detail: str,
                    transaction_id: str | None = None) -> dict[str, Any]:
        return dead_letter(self.topic, self.partition, self.offset, self.key, self.value,
                           reason, field, detail, transaction_id)


@dataclass
class LedgerContext:
    tables: dict[str, Any]
    fx_book: FxBook
    fx_feed: ReferenceFeed | None
    producer: AIOKafkaProducer | None
    live_versions: LiveVersions = field(default_factory=LiveVersions)
    # Partitions whose batch is being flushed now: their `pending` header is ours, not a crash's.
    flushing: set[int] = field(default_factory=set)

    def begin(self, partition: int) -> PartitionTransaction:
        return PartitionTransaction(self.tables, partition, self._written)

    def _written(self, changes: Changes) -> None:
        self.live_versions.written(portfolio_of_key(key.decode()) for items in changes.values() for key, _ in items)


async def apply_groups(ctx: LedgerContext, groups: dict[int, list[Incoming]]) -> list[dict[str, Any]]:
    """`apply_group` for each partition's events, concurrently; the dead letters in partition order.

    The partitions' states are disjoint (one RocksDB database per table
    partition, one changelog partition each), so the batches only interleave
    while waiting for the broker: every partition's changelog records go out
    before any acknowledgement is awaited, one round trip instead of one per
    partition.
    """
    results = await asyncio.gather(*(apply_group(ctx, partition, group) for partition, group in groups.items()))
    return [letter for letters in results for letter in letters]


async def apply_group(ctx: LedgerContext, partition: int, group: list[Incoming],
                      exit_process: Callable[[int], None] = os._exit) -> list[dict[str, Any]]:
    """Apply one partition's events and write the state back once.

    An event whose processing raises is dead-lettered (`processing_error`)
    and the group is re-applied without it from the unwritten tables, so its
    partial changes never reach the state and the other events still count.
    A failure that is not the event's fault (the broker unreachable while
    catching up with FX rates) is waited out and the group applied again.
    """
    poisoned: dict[int, dict[str, Any]] = {}
    delay = 0.2
    while True:
        transaction = ctx.begin(partition)
        store = transaction.store
        letters = []
        try:
            for i, incoming in enumerate(group):
                letter = poisoned.get(i) or await apply_event(ctx, store, incoming)
                if letter is not None:
                    letters.append(letter)
            break
        except TRANSIENT as exc:
            log.warning("applying %s[%s] failed (%r); retrying in %.1fs", incoming.topic, partition, exc, delay,
                        extra=record_fields(incoming.topic, incoming.partition, incoming.offset))
            telemetry.count_retry("broker")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        except Exception as exc:
            log.exception("event %s[%s]@%s failed", incoming.topic, incoming.partition, incoming.offset,
                          extra=record_fields(incoming.topic, incoming.partition, incoming.offset))
            poisoned[i] = incoming.dead_letter("processing_error", None,
                                               f"positions worker: {type(exc).__name__}: {exc}",
                                               _transaction_id(incoming))
    ctx.flushing.add(partition)
    try:
        return await _flush(ctx, transaction, partition, group, letters, exit_process)
    finally:
        ctx.flushing.discard(partition)


async def finish_cut_short(ctx: LedgerContext, partition: int | None, lock: asyncio.Lock,
                           serving: Callable[[], bool], wait: float = CUT_SHORT_WAIT) -> bool:
    """Finish now a batch a crash cut short in `partition`, if it holds one; whether its tables are whole.

    The next batch of the partition would finish it before reading anything,
    but until then the tables may hold part of it: a live read calls this
    first, and answers 503 on False. `lock` is the one every batch is applied
    under. Held, the read waits up to `wait` seconds for it: right after a
    takeover the new owner's first batch holds it while it finishes the cut-short
    batch, and answering 503 then would fail reads for no reason (seen as a
    lone 503 in tests/integration/test_failover.py). A broker retry can hold it
    far longer, so the read does not wait beyond that. `serving` is checked
    again under the lock: a partition given away meanwhile is the next owner's
    to finish.
    """
    if partition is None or partition in ctx.flushing or not has_pending_batch(ctx.tables, partition):
        return True
    deadline = asyncio.get_running_loop().time() + wait
    # `_waiters`: just after a release the lock reads unlocked while the next batch queued for it has
    # not run yet; taking it then would queue this read behind that whole batch.
    while lock.locked() or getattr(lock, "_waiters", None):
        if partition in ctx.flushing or not has_pending_batch(ctx.tables, partition):
            return serving()  # a batch that held the lock finished it; the partition may have moved meanwhile
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.05)
    if partition in ctx.flushing or not has_pending_batch(ctx.tables, partition):
        return serving()
    async with lock:
        if not serving():
            return False
        if has_pending_batch(ctx.tables, partition):  # no batch of ours is being flushed under the lock
            await ctx.begin(partition).flush(ctx.producer)
    return True


async def _flush(ctx: LedgerContext, transaction: PartitionTransaction, partition: int, group: list[Incoming],
                 letters: list[dict[str, Any]], exit_process: Callable[[int], None]) -> list[dict[str, Any]]:
    delay = 0.2
    while True:
        try:
            await transaction.flush(ctx.producer)
            telemetry.count_outcomes("positions", group, letters)
            return letters
        except TRANSIENT as exc:
            # Writing the same records again is harmless (same values, same seq).
            log.warning("writing partition %s's state failed (%r); retrying in %.1fs", partition, exc, delay)
            telemetry.count_retry("broker")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        except Exception:
            # The source events are acknowledged when this returns, even if it
            # raised, which would lose them: die first, and be re-delivered.
            log.critical("could not write the batch's state; exiting so it is re-delivered", exc_info=True)
            exit_process(70)
            return letters


def _transaction_id(incoming: Incoming) -> str | None:
    """The id of a transaction that made the code raise, so its status can name the letter."""
    return getattr(decode_event(incoming.topic, incoming.key, incoming.value or b""), "transaction_id", None)


async def apply_event(ctx: LedgerContext, store: TableLedgerStore, incoming: Incoming) -> dict[str, Any] | None:
    # The key's bytes, not a lossy decoding: a key that is not UTF-8 never matches an id.
    decoded = decode_event(incoming.topic, incoming.key, incoming.value or b"")
    if isinstance(decoded, Rejection):
        return incoming.dead_letter(decoded.reason, decoded.field, decoded.detail, decoded.transaction_id)
    if incoming.topic == "portfolios":
        outcome = define_portfolio(store, decoded.model_dump(mode="json"), incoming.offset)
        transaction_id = None
    else:
        tx = TxFields.from_event(decoded)
        transaction_id = tx.transaction_id
        outcome = apply_transaction(store, tx, incoming.offset, ctx.fx_book.rate)
        if isinstance(outcome, Rejected) and outcome.reason == "missing_fx_rate" and ctx.fx_feed:
            # The rate may be published but not yet read: catch up, then decide.
            await ctx.fx_feed.catch_up()
            outcome = apply_transaction(store, tx, incoming.offset, ctx.fx_book.rate)
        if isinstance(outcome, Duplicate):
            republish_if_replayed(store, tx, incoming.offset)
    if isinstance(outcome, Rejected):
        return incoming.dead_letter(outcome.reason, outcome.field, outcome.detail, transaction_id)
    return None


def republish_if_replayed(store: TableLedgerStore, tx: TxFields, offset: int) -> None:
    """A message seen again after a crash re-emits the records it changed.

    Its state may have reached RocksDB but not the changelog before the crash;
    writing the current records again gives the changelog (and the sink) the
    latest state. Values are unchanged, so this is idempotent.
    """
    record = store.get_tx(tx.portfolio_id, tx.transaction_id)
    if record is None or record.applied != offset:
        return
    store.put_tx(record)
    fields = record.fields
    if fields.security_id and (position := store.get_position(tx.portfolio_id, fields.security_id)):
        store.put_position(position)
    for currency in record.cash:
        if state := store.get_cash(tx.portfolio_id, currency):
            store.put_cash(state)
