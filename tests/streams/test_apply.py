"""apply_groups: each partition's batch applied and written back, the partitions' acknowledgements awaited together."""
from __future__ import annotations

import asyncio
import json

import pytest
from rocksdict import Options, Rdict

from core.fx import FxBook
from core.stored import TABLES
from streams.apply import Incoming, LedgerContext, apply_groups, finish_cut_short
from streams.partition_transaction import PENDING_KEY, PENDING_TABLE
from tests.streams.test_partition_transaction import HeldProducer, RecordingProducer, _Topic


class _PartitionedData:
    def __init__(self, dbs: dict[int, Rdict]) -> None:
        self.dbs = dbs
        self.persisted: dict = {}

    def _db_for_partition(self, partition: int) -> Rdict:
        return self.dbs[partition]

    def set_persisted_offset(self, tp, offset: int) -> None:
        self.persisted[tp] = offset


class _Table:
    def __init__(self, name: str, dbs: dict[int, Rdict]) -> None:
        self.data = _PartitionedData(dbs)
        self.changelog_topic = _Topic(f"{name}-changelog")


@pytest.fixture
def tables(tmp_path):
    made = {name: _Table(name, {p: Rdict(str(tmp_path / f"{name}-{p}"), options=Options(raw_mode=True))
                                for p in (0, 1)}) for name in (*TABLES, PENDING_TABLE)}
    yield made
    for table in made.values():
        for db in table.data.dbs.values():
            db.close()


def _portfolio(partition: int, pid: str) -> Incoming:
    value = {"portfolio_id": pid, "name": pid, "base_currency": "USD", "open_date": "2024-01-01"}
    return Incoming("portfolios", partition, 0, pid.encode(), json.dumps(value).encode())


def _deposit(partition: int, pid: str) -> Incoming:
    value = {"transaction_id": "D1", "portfolio_id": pid, "type": "DEPOSIT", "trade_date": "2024-01-02",
             "amount": "100", "currency": "USD"}
    return Incoming("transactions", partition, 1, pid.encode(), json.dumps(value).encode())


async def test_every_partitions_changelog_records_are_sent_before_any_partition_awaits_its_acknowledgement(tables):
    producer = HeldProducer()
    context = LedgerContext(tables, FxBook(), None, producer)
    applying = asyncio.ensure_future(apply_groups(context, {
        0: [_portfolio(0, "P0"), _deposit(0, "P0")], 1: [_portfolio(1, "P1"), _deposit(1, "P1"), Incoming(
            "transactions", 1, 2, b"P1", b"not json")]}))
    for _ in range(20):
        await asyncio.sleep(0)
    assert {meta.partition for _, _, meta in producer.held} == {0, 1}
    assert not applying.done()
    while not applying.done():  # the pending batches, then the tables, then the dead letter
        producer.acknowledge()
        await asyncio.sleep(0)
    letters = await applying
    assert [(letter["partition"], letter["offset"]) for letter in letters] == [(1, 2)]
    for partition in (0, 1):
        assert tables[PENDING_TABLE].data.dbs[partition].get(PENDING_KEY) is None
    assert {tp.partition for tp in tables["cash"].data.persisted} == {0, 1}


class Killed(BaseException):
    """The worker dying (as SystemExit would, which the event loop re-raises out of a gathered task)."""


async def _cut_short_deposit(tables, monkeypatch) -> LedgerContext:
    """P0 defined, then its deposit's batch dies right after its first table's RocksDB write."""
    context = LedgerContext(tables, FxBook(), None, RecordingProducer())
    await apply_groups(context, {0: [_portfolio(0, "P0")]})

    def crash(point: str) -> None:
        if point == "worker:after_rocksdb":
            raise Killed
    monkeypatch.setattr("streams.partition_transaction.fault_point", crash)
    with pytest.raises(Killed):
        await apply_groups(context, {0: [_deposit(0, "P0")]})
    monkeypatch.undo()
    return context


def _cash(tables, partition: int) -> bytes | None:
    return tables["cash"].data.dbs[partition].get(b"P0\x1fUSD")


async def test_a_live_read_first_finishes_a_batch_a_crash_cut_short(tables, monkeypatch):
    context = await _cut_short_deposit(tables, monkeypatch)
    assert _cash(tables, 0) is None  # the ledger has the deposit, cash does not: a read now would be wrong
    assert await finish_cut_short(context, 0, asyncio.Lock(), lambda: True)
    assert json.loads(_cash(tables, 0))["balance"] == "100"
    assert tables[PENDING_TABLE].data.dbs[0].get(PENDING_KEY) is None


async def test_a_batch_being_flushed_is_left_to_its_flush(tables, monkeypatch):
    context = await _cut_short_deposit(tables, monkeypatch)
    context.flushing.add(0)
    assert await finish_cut_short(context, 0, asyncio.Lock(), lambda: True)
    assert _cash(tables, 0) is None and tables[PENDING_TABLE].data.dbs[0].get(PENDING_KEY) is not None


async def test_a_read_waits_for_a_batch_being_applied_and_then_finishes_the_cut_short_one(tables, monkeypatch):
    context = await _cut_short_deposit(tables, monkeypatch)
    lock = asyncio.Lock()
    await lock.acquire()  # the new owner's first batch, being applied
    asyncio.get_running_loop().call_later(0.1, lock.release)

    assert await asyncio.wait_for(finish_cut_short(context, 0, lock, lambda: True, wait=2.0), 3)
    assert json.loads(_cash(tables, 0))["balance"] == "100"


async def test_a_read_does_not_wait_longer_than_its_limit_nor_finish_a_partition_it_no_longer_serves(
        tables, monkeypatch):
    context = await _cut_short_deposit(tables, monkeypatch)
    lock = asyncio.Lock()
    await lock.acquire()  # a broker retry, holding the lock for seconds
    assert not await asyncio.wait_for(finish_cut_short(context, 0, lock, lambda: True, wait=0.2), 1)
    lock.release()
    assert not await finish_cut_short(context, 0, lock, lambda: False)  # given away while it waited
    assert _cash(tables, 0) is None


async def test_a_read_that_waited_answers_false_when_its_partition_was_given_away_meanwhile(tables, monkeypatch):
    context = await _cut_short_deposit(tables, monkeypatch)
    lock = asyncio.Lock()
    serving = True
    await lock.acquire()  # the new owner's first batch, which finishes the cut-short one; then a rebalance

    async def batch_then_rebalance():
        nonlocal serving
        await asyncio.sleep(0.1)
        await context.begin(0).flush(context.producer)
        serving = False
        lock.release()

    batch = asyncio.create_task(batch_then_rebalance())
    assert not await asyncio.wait_for(finish_cut_short(context, 0, lock, lambda: serving, wait=2.0), 3)
    await batch


async def test_a_waiting_read_returns_as_soon_as_the_batch_holding_the_lock_has_finished_the_cut_short_one(
        tables, monkeypatch):
    context = await _cut_short_deposit(tables, monkeypatch)
    lock = asyncio.Lock()
    await lock.acquire()  # the new owner's first batch: it finishes the cut-short batch, then applies its own

    async def long_batch():
        await context.begin(0).flush(context.producer)
        await asyncio.sleep(1.5)
        lock.release()

    batch = asyncio.create_task(long_batch())
    started = asyncio.get_running_loop().time()
    assert await finish_cut_short(context, 0, lock, lambda: True, wait=2.0)
    assert asyncio.get_running_loop().time() - started < 1.0  # not after the whole batch
    await batch
